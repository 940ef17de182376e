/* commands.h - the commands' entry points, and nothing else (main.c's
 * dispatch table calls them). One file each; a command parses its arguments,
 * calls the engine (site.h, health.h), prints and returns its exit status
 * (gatewayctl.h); it never calls another command. */
#ifndef GATEWAYCTL_COMMANDS_H
#define GATEWAYCTL_COMMANDS_H

int check_main(int argc, char **argv);
int plan_main(int argc, char **argv);
int up_main(int argc, char **argv);
int down_main(int argc, char **argv);
int confirm_main(int argc, char **argv);
int rollback_main(int argc, char **argv);
int status_main(int argc, char **argv);
int watch_main(int argc, char **argv);
int relay_main(int argc, char **argv);
int genkey_main(int argc, char **argv);
int pubkey_main(int argc, char **argv);

/* The watcher process: `gatewayctl confirm --watcher SITE ID DEADLINE_MS
 * --ready-fd N` (started by pending_begin, never by hand; watcher.c). */
int watcher_main(int argc, char **argv);

#endif
