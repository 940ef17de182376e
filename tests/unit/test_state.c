/* test_state.c - the run directory: per network namespace, checked, and never
 * following a link that somebody else planted (issue 10, items 10 and 11). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "state.h"

static char dir[] = "/tmp/gwctl-test-state.XXXXXX";
static char rundir[300];
static int n_case;

/* Each case runs in a child process: state.c caches its directory descriptors,
 * and some cases change the network namespace. The child exits 0 on success. */
static void in_child(void (*fn)(void))
{
	pid_t pid;
	int status;

	snprintf(rundir, sizeof(rundir), "%s/run%d", dir, n_case++);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		setenv("GATEWAYCTL_RUNDIR", rundir, 1);
		fn();
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); _exit(1); } } while (0)

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CHECK(f);
	fputs(text, f);
	fclose(f);
}

static void read_text(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	CHECK(f);
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

static void layout(void)
{
	struct state st;
	struct stat s;
	char path[600];
	int fd;

	state_init(&st, "manhattan");
	st.forwarding_was = 0;
	CHECK(state_write(&st) == 0);
	/* RUNDIR/ns-COOKIE/SITE.state, 0644 */
	CHECK(!strncmp(state_dir(), rundir, strlen(rundir)));
	CHECK(!strncmp(state_dir() + strlen(rundir), "/ns-", 4));
	snprintf(path, sizeof(path), "%s/manhattan.state", state_dir());
	CHECK(stat(path, &s) == 0 && (s.st_mode & 07777) == 0644);
	/* the lock: 0600 in a 0700 directory */
	fd = state_lock("manhattan");
	CHECK(fd >= 0);
	CHECK(stat(state_private_dir(), &s) == 0 && S_ISDIR(s.st_mode) && (s.st_mode & 07777) == 0700);
	snprintf(path, sizeof(path), "%s/manhattan.lock", state_private_dir());
	CHECK(stat(path, &s) == 0 && (s.st_mode & 07777) == 0600);
	close(fd);
	state_init(&st, "manhattan");
	CHECK(state_read("manhattan", &st) == 0 && st.forwarding_was == 0);
}

static void test_layout(void **state)
{
	(void)state;
	in_child(layout);
}

/* IPv6's records (issue 22): forwarding's and the WAN's accept_ra's old
 * values, manage_interfaces' addresses and default route, written and read
 * back; bad lines are ignored. */
static void ipv6_records(void)
{
	struct state st;
	char path[600], buf[512];
	FILE *f;

	state_init(&st, "manhattan");
	CHECK(state_empty(&st));
	st.accept_ra_was = 1;
	strcpy(st.accept_ra_ifname, "eth0");
	CHECK(!state_empty(&st));
	st.forwarding6_was = 0;
	/* manage_interfaces' IPv6 address and default route */
	CHECK(parse_net6("2001:db8:1::126/64", &st.addrs6[0].addr) == 0);
	strcpy(st.addrs6[0].ifname, "eth1");
	st.n_addrs6 = 1;
	CHECK(parse_ip6("fe80::1", st.default_route6.gateway) == 0);
	strcpy(st.default_route6.ifname, "eth0");
	CHECK(state_write(&st) == 0);
	snprintf(path, sizeof(path), "%s/manhattan.state", state_dir());
	read_text(path, buf, sizeof(buf));
	CHECK(strstr(buf, "\nforwarding6_was 0\naccept_ra_was eth0 1\naddr6 eth1 2001:db8:1::126/64\n"
			  "default_route6 fe80::1 eth0\n"));
	state_init(&st, "manhattan");
	CHECK(state_read("manhattan", &st) == 0 && st.accept_ra_was == 1 && !strcmp(st.accept_ra_ifname, "eth0") &&
	      st.forwarding6_was == 0 && st.n_addrs6 == 1 && st.addrs6[0].addr.len == 64 &&
	      !strcmp(st.addrs6[0].ifname, "eth1") && st.default_route6.gateway[0] == 0xfe &&
	      !strcmp(st.default_route6.ifname, "eth0"));
	/* only the default route6: not empty */
	st.accept_ra_was = st.forwarding6_was = -1;
	st.n_addrs6 = 0;
	CHECK(!state_empty(&st));
	/* a value accept_ra cannot have, a name no interface can have: ignored */
	f = fopen(path, "w");
	CHECK(f);
	fputs("accept_ra_was eth0 7\naccept_ra_was ../x 1\naddr6 eth0 2001:db8::1\ndefault_route6 1.2.3.4 eth0\n", f);
	fclose(f);
	CHECK(state_read("manhattan", &st) == 0 && st.accept_ra_was == -1 && state_empty(&st));
	/* a line of one word after "default_route6" is not the IPv4 default route's;
	 * values the file never holds (a negative forwarding, a route via 0.0.0.0) read as none */
	f = fopen(path, "w");
	CHECK(f);
	fputs("default_route 172.16.1.30 eth1\ndefault_route6 eth1\nforwarding_was -5\n", f);
	fclose(f);
	CHECK(state_read("manhattan", &st) == 0 && st.default_route.gateway == 0xac10011e && st.forwarding_was == -1);
	f = fopen(path, "w");
	CHECK(f);
	fputs("default_route 0.0.0.0 eth1\ndefault_route6 :: eth1\n", f);
	fclose(f);
	CHECK(state_read("manhattan", &st) == 0 && state_empty(&st) && !st.default_route.ifname[0] &&
	      !st.default_route6.ifname[0]);
	/* an IPv6 endpoint in use (a name looked up as IPv6, a list): written and
	 * read back beside an IPv4 one as older files have it; no `ike` on it */
	state_init(&st, "manhattan");
	strcpy(st.file, "/etc/gatewayctl/manhattan.ini");	/* endpoints alone are no state */
	strcpy(st.endpoints[0].peer, "brooklyn");
	st.endpoints[0].v6 = true;
	CHECK(parse_ip6("2001:db8:ffff:2::12", st.endpoints[0].addr6) == 0);
	st.endpoints[0].ttl = 30;
	st.n_endpoints = 1;
	CHECK(state_write(&st) == 0);
	read_text(path, buf, sizeof(buf));
	CHECK(strstr(buf, "\nendpoint brooklyn 2001:db8:ffff:2::12 30\n"));
	f = fopen(path, "a");
	CHECK(f);
	fputs("endpoint queens 172.18.0.1 60\nendpoint bronx 2001:db8::9 60 ike 172.18.0.2\nendpoint x :: 1\n", f);
	fclose(f);
	CHECK(state_read("manhattan", &st) == 0 && st.n_endpoints == 2 && st.endpoints[0].v6 &&
	      st.endpoints[0].addr6[15] == 0x12 && st.endpoints[0].ttl == 30 && !st.endpoints[1].v6 &&
	      st.endpoints[1].addr == 0xac120001 && !strcmp(st.endpoints[1].peer, "queens"));
}

static void test_ipv6_records(void **state)
{
	(void)state;
	in_child(ipv6_records);
}

/* A symbolic link planted where the state file's temporary file or the lock
 * goes must not make root write through it. */
static void no_follow(void)
{
	struct state st;
	char path[600], victim[600], buf[64];
	int fd;

	state_init(&st, "manhattan");
	st.forwarding_was = 1;
	CHECK(state_write(&st) == 0); /* creates the directories */
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	write_text(victim, "precious\n");
	/* every name the old code would have opened for writing */
	snprintf(path, sizeof(path), "%s/manhattan.state.tmp", state_dir());
	CHECK(symlink(victim, path) == 0);
	snprintf(path, sizeof(path), "%s/.manhattan.state.%ld.tmp", state_dir(), (long)getpid());
	CHECK(symlink(victim, path) == 0);
	snprintf(path, sizeof(path), "%s/manhattan.state", state_dir());
	CHECK(unlink(path) == 0 && symlink(victim, path) == 0);
	st.forwarding_was = 0;
	state_write(&st);
	read_text(victim, buf, sizeof(buf));
	CHECK(!strcmp(buf, "precious\n"));
	/* the rename replaced the link by the new file; reading through a link is refused */
	snprintf(path, sizeof(path), "%s/manhattan.state", state_dir());
	CHECK(unlink(path) == 0 && symlink(victim, path) == 0);
	state_init(&st, "manhattan");
	CHECK(state_read("manhattan", &st) < 0);
	/* the lock */
	CHECK(state_dirfd(true, true) >= 0);
	snprintf(path, sizeof(path), "%s/brooklyn.lock", state_private_dir());
	CHECK(symlink(victim, path) == 0);
	fd = state_lock("brooklyn");
	CHECK(fd < 0);
	read_text(victim, buf, sizeof(buf));
	CHECK(!strcmp(buf, "precious\n"));
	unlink(victim);
}

static void test_no_follow(void **state)
{
	(void)state;
	in_child(no_follow);
}

static void refuse_dir(const char *why)
{
	struct state st;
	int fd;

	state_init(&st, "manhattan");
	st.forwarding_was = 0;
	CHECK(state_write(&st) < 0);
	fd = state_lock("manhattan");
	CHECK(fd < 0);
	if (!strstr(state_dir_error(), why)) {
		fprintf(stderr, "wanted \"%s\" in \"%s\"\n", why, state_dir_error());
		_exit(1);
	}
}

static void world_writable(void)
{
	CHECK(mkdir(rundir, 0777) == 0 && chmod(rundir, 0777) == 0);
	refuse_dir("may be written by others than root");
}

static void foreign_owner(void)
{
	CHECK(mkdir(rundir, 0755) == 0 && chown(rundir, 65534, 65534) == 0);
	refuse_dir("may be written by others than root");
}

static void symlinked(void)
{
	char real[600];

	snprintf(real, sizeof(real), "%s.real", rundir);
	CHECK(mkdir(real, 0755) == 0 && symlink(real, rundir) == 0);
	refuse_dir("not a directory");
}

static void test_unsafe_rundir(void **state)
{
	(void)state;
	in_child(world_writable);
	in_child(symlinked);
	if (geteuid() == 0)
		in_child(foreign_owner);
}

/* Two network namespaces: two directories, each seeing only its own sites. */
static void per_netns(void)
{
	char (*sites)[SITE_NAME_MAX + 1];
	struct state st;
	size_t n;
	int status, count = 0;
	pid_t pid;
	DIR *d;
	struct dirent *e;

	/* first a site in another namespace (state.c finds its directory once per
	 * process, so the child must unshare before any call) */
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		if (unshare(CLONE_NEWNET) < 0)
			_exit(77);
		state_init(&st, "brooklyn");
		st.forwarding_was = 0;
		CHECK(state_write(&st) == 0);
		CHECK(state_sites(&sites, &n) == 0 && n == 1 && !strcmp(sites[0], "brooklyn"));
		free(sites);
		_exit(0);
	}
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		return; /* no permission for a namespace: nothing to compare */
	CHECK(WEXITSTATUS(status) == 0);
	/* this namespace sees none of it */
	CHECK(state_sites(&sites, &n) == 0 && n == 0);
	free(sites);
	state_init(&st, "manhattan");
	st.forwarding_was = 0;
	CHECK(state_write(&st) == 0);
	CHECK(state_sites(&sites, &n) == 0 && n == 1 && !strcmp(sites[0], "manhattan"));
	free(sites);
	/* two directories side by side */
	d = opendir(rundir);
	CHECK(d);
	while ((e = readdir(d)))
		count += !strncmp(e->d_name, "ns-", 3);
	closedir(d);
	CHECK(count == 2);
}

static void test_per_netns(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	in_child(per_netns);
}

static int setup(void **state)
{
	(void)state;
	umask(022);
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s.real", dir, dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* An older gatewayctl recorded an address put back by a second up twice:
 * read once, so that down deletes it once (and does not fail on the second) */
static void test_lines_once(void **state)
{
	static const char text[] = "file /etc/gatewayctl/m.ini\naddr eth0 192.168.1.126/24\n"
				   "addr eth0 192.168.1.126/24\naddr eth1 192.168.1.126/24\n"
				   "addr6 eth0 2001:db8:1::126/64\naddr6 eth0 2001:db8:1::126/64\n"
				   "link_up eth0\nlink_up eth0\nlink_up eth1\n";
	FILE *f = fmemopen((void *)text, sizeof(text) - 1, "r");
	struct state st;

	(void)state;
	assert_non_null(f);
	state_init(&st, "m");
	state_parse(f, &st);
	fclose(f);
	assert_int_equal(st.n_addrs, 2);	/* the same address on another link is another */
	assert_string_equal(st.addrs[1].ifname, "eth1");
	assert_int_equal(st.n_addrs6, 1);
	assert_int_equal(st.n_links_up, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_lines_once),
		cmocka_unit_test(test_no_follow),
		cmocka_unit_test(test_ipv6_records),
		cmocka_unit_test(test_unsafe_rundir),
		cmocka_unit_test(test_per_netns),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
