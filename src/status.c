/* status.c - gatewayctl status [FILE|SITE] [--json] [--probe]: health, drift,
 * counters. Reads only; never changes kernel state. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cmdopt.h"
#include "commands.h"
#include "config.h"
#include "endpoints.h"
#include "gatewayctl.h"
#include "health.h"
#include "ipsec.h"
#include "metrics.h"
#include "model.h"
#include "netmap.h"
#include "pending.h"
#include "relay.h"
#include "sitearg.h"
#include "state.h"
#include "watchstate.h"

static void status_about(FILE *out)
{
	fputs("Health of a site: its tunnels (present, up, as configured, traffic and errors),\n"
	      "routes, no bogus host route, the nftables rules and their counters, forwarding,\n"
	      "rp_filter, the relay (pid, uptime, counters per port and peer), and the drift\n"
	      "from the site file, each problem with the `up` step that fixes it.\n"
	      "Without an argument: every site gatewayctl manages here (with a state file\n"
	      "naming its site file, drift is checked too). A site that is not up at all\n"
	      "is NOT UP, with one fix; what `up` would refuse for is listed first.\n", out);
}

enum { OPT_JSON = 1, OPT_PROBE, OPT_PROMETHEUS, OPT_OUTPUT };
static const struct cmdopt status_opts[] = {
	{ OPT_JSON, "--json", NULL, CMDOPT_FLAG, NULL, NULL, "machine-readable output (schema in gatewayctl(8))" },
	{ OPT_PROBE, "--probe", NULL, CMDOPT_FLAG, NULL, NULL,
	  "also ping each peer gateway's LAN address through its tunnel\n"
	  "(not when our own tunnel is missing or down: that is said)" },
	{ OPT_PROMETHEUS, "--prometheus", NULL, CMDOPT_FLAG, NULL, NULL,
	  "metrics in Prometheus' text format (not with --json)" },
	{ OPT_OUTPUT, "--output", NULL, CMDOPT_VALUE, "FILE", "a file name",
	  "with --prometheus: replace FILE atomically (node_exporter's\n"
	  "textfile collector)" },
	{ 0 }
};
static const struct cmdspec status_spec = {
	.name = "status", .usage = "[FILE|SITE] [--json | --prometheus [--output FILE]] [--probe]",
	.about = status_about, .opts = status_opts,
	.after = "Exit status: 0 healthy, 1 degraded (every reason listed), 2 bad usage or\n"
		 "configuration. Reads only; needs CAP_NET_ADMIN (nftables).\n",
};

/* ---- output helpers ---------------------------------------------------- */

struct out {
	bool json, color;
	FILE *f;
};

static const char *c_red(const struct out *o) { return o->color ? "\033[31m" : ""; }
static const char *c_green(const struct out *o) { return o->color ? "\033[32m" : ""; }
static const char *c_bold(const struct out *o) { return o->color ? "\033[1m" : ""; }
static const char *c_off(const struct out *o) { return o->color ? "\033[0m" : ""; }

/* ---- one site ---------------------------------------------------------- */

static void json_u64(FILE *f, const char *key, uint64_t v, bool comma)
{
	fprintf(f, "\"%s\": %llu%s", key, (unsigned long long)v, comma ? ", " : "");
}

static void json_ipsec(FILE *f, const struct site *s, const struct peer *p, const struct live *live,
		       const char *why)
{
	const struct ipsec_peer_live *pl = live->ipsec.peers ? &live->ipsec.peers[p - s->peers] : NULL;
	const struct vici_ike_sa *sa = pl ? pl->sa : NULL;
	const struct vici_child_sa *c = ipsec_installed_child(sa);
	char name[VICI_NAME_MAX + 1];

	fprintf(f, ",\n        \"encryption\": \"%s\"", p->encryption == ENC_IPSEC ? "ipsec" : "none");
	if (p->encryption != ENC_IPSEC)
		return;
	ipsec_conn_name(s, p, name, sizeof(name));
	fprintf(f, ", \"ipsec\": {\"connection\": ");
	json_str(f, name);
	fprintf(f, ", \"charon\": %s, \"loaded\": %s, \"established\": %s", live->ipsec.reachable ? "true" : "false",
		pl && pl->loaded ? "true" : "false", sa && c ? "true" : "false");
	if (sa) {
		fprintf(f, ", \"ike\": {\"encryption\": ");
		json_str(f, sa->encr_alg);
		fprintf(f, ", \"key_size\": %u, \"dh_group\": ", sa->encr_keysize);
		json_str(f, sa->dh_group);
		fprintf(f, ", \"established_s\": %lld, \"rekey_in_s\": %lld, \"nat_traversal\": %s, \"remote\": ",
			(long long)sa->established, (long long)sa->rekey_time, sa->nat_any ? "true" : "false");
		json_str(f, sa->remote_host);
		fprintf(f, "}");
	}
	if (c) {
		fprintf(f, ", \"esp\": {\"encryption\": ");
		json_str(f, c->encr_alg);
		fprintf(f, ", \"key_size\": %u, \"dh_group\": ", c->encr_keysize);
		json_str(f, c->dh_group);
		fprintf(f, ", \"encapsulated\": %s, \"spi_in\": \"%08x\", \"spi_out\": \"%08x\", ",
			c->encap ? "true" : "false", c->spi_in, c->spi_out);
		json_u64(f, "bytes_in", c->bytes_in, true);
		json_u64(f, "packets_in", c->packets_in, true);
		json_u64(f, "bytes_out", c->bytes_out, true);
		json_u64(f, "packets_out", c->packets_out, true);
		fprintf(f, "\"installed_s\": %lld, \"rekey_in_s\": %lld}", (long long)c->install_time,
			(long long)c->rekey_time);
	}
	if (!(sa && c)) {
		fprintf(f, ", \"reason\": ");
		json_str(f, !live->ipsec.reachable ? live->ipsec.error : !pl || !pl->loaded ?
			"the IKE connection is not loaded in charon" : *why ? why : "charon is still negotiating");
	}
	fprintf(f, "}");
}

static void human_ipsec(FILE *f, const struct live *live, size_t i, const char *why)
{
	const struct ipsec_peer_live *pl = live->ipsec.peers ? &live->ipsec.peers[i] : NULL;
	const struct vici_ike_sa *sa = pl ? pl->sa : NULL;
	const struct vici_child_sa *c = ipsec_installed_child(sa);

	if (sa && c) {
		fprintf(f, "    %-12s established %llds ago, %s-%u %s, rekey in %llds, NAT traversal %s\n", "ipsec",
			(long long)sa->established, c->encr_alg, c->encr_keysize, c->dh_group[0] ? c->dh_group : sa->dh_group,
			(long long)(c->rekey_time >= 0 ? c->rekey_time : sa->rekey_time), sa->nat_any ? "yes" : "no");
		fprintf(f, "    %-12s in %llu packets %llu bytes, out %llu packets %llu bytes (SPI %08x/%08x)\n", "esp",
			(unsigned long long)c->packets_in, (unsigned long long)c->bytes_in,
			(unsigned long long)c->packets_out, (unsigned long long)c->bytes_out, c->spi_in, c->spi_out);
	} else {
		fprintf(f, "    %-12s NOT ESTABLISHED: %s\n", "ipsec",
			!live->ipsec.reachable ? live->ipsec.error : !pl || !pl->loaded ?
			"the IKE connection is not loaded in charon" : *why ? why : "charon is still negotiating");
	}
}

/* One site's report: its health (judged in health.c) and the relay's counters. */
struct report {
	const struct site *s;
	struct health h;
	struct relay_stats rs;
	bool have_rs;
	pid_t relay_pid;
	time_t relay_started;
};

/* P's endpoint address in use, either family, into BUF (IP6_STRLEN) */
static const char *endpoint_addr(const struct peer *p, char *buf)
{
	return p->endpoint_v6 ? ip6_str(p->endpoint6, buf) : ip4_str(p->endpoint, buf);
}

/* ---- JSON ---- */

static void json_tunnel(FILE *f, const struct link_info *l)
{
	char ip[IP6_STRLEN], ip2[IP6_STRLEN];

	fprintf(f, ", \"present\": %s", l ? "true" : "false");
	if (!l)
		return;
	fprintf(f, ", \"up\": %s, \"local\": \"%s\", \"remote\": \"%s\", \"ttl\": %u, \"mtu\": %u, ",
		(l->flags & IFF_UP) ? "true" : "false", (model_link_ends(l, ip, ip2), ip), ip2, l->ttl, l->mtu);
	json_u64(f, "rx_packets", l->rx_packets, true);
	json_u64(f, "tx_packets", l->tx_packets, true);
	json_u64(f, "rx_bytes", l->rx_bytes, true);
	json_u64(f, "tx_bytes", l->tx_bytes, true);
	json_u64(f, "rx_errors", l->rx_errors, true);
	json_u64(f, "tx_errors", l->tx_errors, true);
	json_u64(f, "rx_dropped", l->rx_dropped, true);
	json_u64(f, "tx_dropped", l->tx_dropped, false);
}

static void json_probe(FILE *f, const struct peer *p, const struct probe *pr)
{
	char ip[16];

	fprintf(f, ",\n        \"probe\": {\"target\": \"%s\", \"sent\": %d, \"received\": %d, "
		"\"loss\": %.2f, \"rtt_ms\": {\"min\": %.3f, \"avg\": %.3f, \"max\": %.3f}",
		p->lan_address ? ip4_str(p->lan_address, ip) : "", pr->sent, pr->received,
		pr->sent ? 1.0 - (double)pr->received / pr->sent : 1.0, pr->min, pr->avg, pr->max);
	if (pr->error[0]) {
		fprintf(f, ", \"error\": ");
		json_str(f, pr->error);
	}
	fprintf(f, "}");
}

/* A named endpoint: its name and TTL ("endpoint_name", "endpoint_ttl"); one no
 * up or watcher has resolved yet (endpoint null): its first name, TTL 0 */
static void status_json_endpoint(FILE *f, const struct peer *p)
{
	const struct endpoint_item *it = endpoints_named(p);
	char ip[IP6_STRLEN];

	/* where the address came from: the file (or DNS), or IKE (MOBIKE) in
	 * place of the file's choice */
	if (endpoints_from_ike(p))
		fprintf(f, "\"endpoint_source\": \"ike\", \"endpoint_file\": \"%s\", ", p->endpoint_v6 ?
			ip6_str(p->endpoint_ike6, ip) : ip4_str(p->endpoint_ike, ip));
	if (!it)
		return;
	fprintf(f, "\"endpoint_name\": ");
	json_str(f, it->name);
	fprintf(f, ", \"endpoint_ttl\": %u, ", endpoints_in_use(p) ? it->ttl : 0);
}

static void json_peer(FILE *f, const struct report *r, size_t i)
{
	const struct site *s = r->s;
	const struct peer *p = &s->peers[i];
	const struct live *live = &r->h.live;
	const struct link_info *l = live_link(live, p->tunnel);
	char ip[IP6_STRLEN], net[20];

	fprintf(f, "%s\n       {\"name\": ", i ? "," : "");
	json_str(f, p->name);
	if (endpoints_in_use(p))
		fprintf(f, ", \"endpoint\": \"%s\", ", endpoint_addr(p, ip));
	else
		fprintf(f, ", \"endpoint\": null, ");
	status_json_endpoint(f, p);
	fprintf(f, "\"tunnel\": {\"name\": ");
	json_str(f, p->tunnel);
	json_tunnel(f, l);
	fprintf(f, "},\n        \"routes\": [");
	for (size_t k = 0; k < p->n_networks; k++)
		fprintf(f, "%s{\"network\": \"%s\", \"present\": %s}", k ? ", " : "", net4_str(p->networks[k], net),
			live_route_present(live, l, p->networks[k], s->lan_address.addr) ? "true" : "false");
	for (size_t k = 0; k < p->n_networks6; k++) {
		char net6[IP6_STRLEN + 4];

		fprintf(f, "%s{\"network\": \"%s\", \"present\": %s}", k || p->n_networks ? ", " : "",
			net6_str(p->networks6[k], net6),
			live_route6_present(live, l, p->networks6[k], s->lan_address6.addr) ? "true" : "false");
	}
	fprintf(f, "], \"bogus_host_route\": %s", live_bogus_route(live, p) ? "true" : "false");
	json_ipsec(f, s, p, live, r->h.ipsec_why ? r->h.ipsec_why[i] : "");
	if (r->h.probes)
		json_probe(f, p, &r->h.probes[i]);
	fprintf(f, ",\n        \"watch_probe\": ");
	peerwatch_json(f, r->h.have_watch ? &r->h.watch : NULL, p->name);
	fprintf(f, "}");
}

static void json_drops(FILE *f, const uint64_t *dropped)
{
	fprintf(f, "\"dropped\": {");
	for (int d = 0; d < DROP_REASONS; d++)
		json_u64(f, relay_drop_name(d), dropped[d], d + 1 < DROP_REASONS);
	fprintf(f, "}}");
}

static void json_relay(FILE *f, const struct report *r)
{
	const struct relay_stats *rs = &r->rs;

	fprintf(f, ",\n     \"relay\": {\"configured\": %s, \"running\": %s",
		r->s->relay.enabled ? "true" : "false", r->relay_pid ? "true" : "false");
	if (r->relay_pid)
		fprintf(f, ", \"pid\": %d, \"uptime_s\": %lld", (int)r->relay_pid,
			(long long)(time(NULL) - r->relay_started));
	if (r->have_rs) {
		fprintf(f, ", \"ports\": [");
		for (size_t i = 0; i < rs->n_ports; i++) {
			fprintf(f, "%s{\"port\": %u, ", i ? ", " : "", rs->ports[i].port);
			json_u64(f, "received", rs->ports[i].received, true);
			json_u64(f, "relayed", rs->ports[i].relayed, true);
			json_u64(f, "rebroadcast", rs->ports[i].rebroadcast, true);
			json_drops(f, rs->ports[i].dropped);
		}
		fprintf(f, "], \"peers\": [");
		for (size_t i = 0; i < rs->n_peers; i++) {
			fprintf(f, "%s{\"name\": ", i ? ", " : "");
			json_str(f, rs->peers[i].name);
			fprintf(f, ", ");
			json_u64(f, "sent", rs->peers[i].sent, true);
			json_u64(f, "received", rs->peers[i].received, true);
			json_drops(f, rs->peers[i].dropped);
		}
		fprintf(f, "]");
	}
	fprintf(f, "}");
}

static void json_site(FILE *f, const struct report *r, bool first)
{
	const struct site *s = r->s;
	const struct live *live = &r->h.live;

	fprintf(f, "%s    {\"site\": ", first ? "" : ",\n");
	json_str(f, s->name);
	fprintf(f, ", \"file\": ");
	json_str(f, s->path);
	fprintf(f, ", \"healthy\": %s,\n     \"forwarding\": %s, \"rp_filter_all\": %u,\n",
		health_ok(&r->h) ? "true" : "false", live->ip_forward == 1 ? "true" : "false", live->rp_filter_all);
	fprintf(f, "     \"forwarding6\": %s, \"accept_ra\": ", live->ip6_forward == 1 ? "true" : "false");
	if (model_site_v6(s)) {
		fprintf(f, "{\"interface\": ");
		json_str(f, s->wan);
		fprintf(f, ", \"value\": %u}", live->wan_accept_ra);
	} else {
		fprintf(f, "null");
	}
	fprintf(f, ",\n     \"pending\": ");
	pending_json(f, r->h.have_pending ? &r->h.pending : NULL);
	fprintf(f, ",\n     \"watch\": ");
	watchstate_json(f, s->name);
	fprintf(f, ",\n     \"netmap\": ");
	if (s->netmap.len) {
		char a[20], b[20];

		fprintf(f, "{\"lan\": \"%s\", \"as\": \"%s\"}", net4_str(netmap_lan(s), a), net4_str(s->netmap, b));
	} else {
		fprintf(f, "null");
	}
	fprintf(f, ",\n");
	fprintf(f, "     \"nftables\": {\"table\": \"" NFT_TABLE_PREFIX "%s\", \"present\": %s, \"matches\": %s, \"rules\": {",
		s->name, live->nft.present ? "true" : "false", live->nft_match == 1 ? "true" : "false");
	for (size_t i = 0; i < live->nft.n_counters; i++) {
		fprintf(f, "%s", i ? ", " : "");
		json_str(f, live->nft.counters[i].rule);
		fprintf(f, ": {");
		json_u64(f, "packets", live->nft.counters[i].packets, true);
		json_u64(f, "bytes", live->nft.counters[i].bytes, false);
		fprintf(f, "}");
	}
	fprintf(f, "}},\n     \"block_policies\": {\"readable\": %s, \"wanted\": %u, \"present\": %u},\n",
		live->block.read ? "true" : "false", live->block.wanted, live->block.present);
	fprintf(f, "     \"peers\": [");
	for (size_t i = 0; i < s->n_peers; i++)
		json_peer(f, r, i);
	fprintf(f, "]");
	json_relay(f, r);
	fprintf(f, ",\n     \"reasons\": [");
	for (size_t i = 0; i < r->h.n_reasons; i++) {
		fprintf(f, "%s\n       {\"problem\": ", i ? "," : "");
		json_str(f, r->h.reasons[i].text);
		fprintf(f, ", \"fix\": ");
		json_str(f, r->h.reasons[i].fix);
		fprintf(f, "}");
	}
	fprintf(f, "]}");
}

/* ---- text ---- */

static void text_peer(FILE *f, const struct report *r, size_t i)
{
	const struct site *s = r->s;
	const struct peer *p = &s->peers[i];
	const struct live *live = &r->h.live;
	const struct link_info *l = live_link(live, p->tunnel);
	const struct probe *pr = r->h.probes ? &r->h.probes[i] : NULL;
	char ip[IP6_STRLEN], ip2[IP6_STRLEN], net[20], ep[300], ep6[IP6_STRLEN];

	fprintf(f, "  peer %s (endpoint %s)\n", p->name, endpoints_describe(p, ep, sizeof(ep)));
	if (!l) {
		fprintf(f, "    %-12s %s missing\n", "tunnel", p->tunnel);
	} else {
		model_link_ends(l, ip, ip2);
		fprintf(f, "    %-12s %s %s, local %s remote %s ttl %u mtu %u\n", "tunnel", p->tunnel,
			(l->flags & IFF_UP) ? "up" : "DOWN", ip, ip2, l->ttl, l->mtu);
		fprintf(f, "    %-12s rx %llu packets %llu bytes %llu errors, tx %llu packets %llu bytes %llu errors\n",
			"traffic", (unsigned long long)l->rx_packets, (unsigned long long)l->rx_bytes,
			(unsigned long long)l->rx_errors, (unsigned long long)l->tx_packets,
			(unsigned long long)l->tx_bytes, (unsigned long long)l->tx_errors);
	}
	for (size_t k = 0; k < p->n_networks; k++)
		fprintf(f, "    %-12s %s %s\n", k ? "" : "routes", net4_str(p->networks[k], net),
			live_route_present(live, l, p->networks[k], s->lan_address.addr) ? "present" : "MISSING");
	for (size_t k = 0; k < p->n_networks6; k++) {
		char net6[IP6_STRLEN + 4];

		fprintf(f, "    %-12s %s %s\n", k || p->n_networks ? "" : "routes", net6_str(p->networks6[k], net6),
			live_route6_present(live, l, p->networks6[k], s->lan_address6.addr) ? "present" : "MISSING");
	}
	if (live_bogus_route(live, p))
		fprintf(f, "    %-12s %s/%d routed into a tunnel\n", "BOGUS ROUTE", endpoint_addr(p, ep6),
			p->endpoint_v6 ? 128 : 32);
	if (p->encryption == ENC_IPSEC)
		human_ipsec(f, live, i, r->h.ipsec_why ? r->h.ipsec_why[i] : "");
	if (pr && pr->error[0])
		fprintf(f, "    %-12s %s\n", "probe", pr->error);
	else if (pr)
		fprintf(f, "    %-12s %s: %d/%d answered, rtt min/avg/max %.3f/%.3f/%.3f ms\n", "probe",
			ip4_str(p->lan_address, ip), pr->received, pr->sent, pr->min, pr->avg, pr->max);
	if (r->h.have_watch)
		peerwatch_print(f, &r->h.watch, p->name);
}

static void text_drops(FILE *f, const uint64_t *dropped)
{
	for (int d = 0; d < DROP_REASONS; d++)
		if (dropped[d])
			fprintf(f, "      dropped %-14s %llu\n", relay_drop_name(d), (unsigned long long)dropped[d]);
}

static void text_relay(FILE *f, const struct report *r)
{
	const struct relay_stats *rs = &r->rs;

	if (r->relay_pid)
		fprintf(f, "  %-14s running, pid %d, up %llds\n", "relay", (int)r->relay_pid,
			(long long)(time(NULL) - r->relay_started));
	else
		fprintf(f, "  %-14s NOT RUNNING\n", "relay");
	for (size_t i = 0; r->have_rs && i < rs->n_ports; i++) {
		uint64_t dropped = 0;

		for (int d = 0; d < DROP_REASONS; d++)
			dropped += rs->ports[i].dropped[d];
		fprintf(f, "    port %-7u received %llu, relayed %llu, rebroadcast %llu, dropped %llu\n",
			rs->ports[i].port, (unsigned long long)rs->ports[i].received,
			(unsigned long long)rs->ports[i].relayed, (unsigned long long)rs->ports[i].rebroadcast,
			(unsigned long long)dropped);
		text_drops(f, rs->ports[i].dropped);
	}
	for (size_t i = 0; r->have_rs && i < rs->n_peers; i++) {
		fprintf(f, "    peer %-7s frames sent %llu, received %llu\n", rs->peers[i].name,
			(unsigned long long)rs->peers[i].sent, (unsigned long long)rs->peers[i].received);
		text_drops(f, rs->peers[i].dropped);
	}
}

static void text_site(const struct out *o, const struct report *r, bool first)
{
	const struct site *s = r->s;
	const struct live *live = &r->h.live;
	const struct health *h = &r->h;
	const char *ok = !h->up ? "NOT UP" : !health_ok(h) ? "DEGRADED" : "healthy";
	FILE *f = o->f;

	fprintf(f, "%s%ssite %s%s: %s%s%s  (%s)\n", first ? "" : "\n", c_bold(o), s->name, c_off(o),
		health_ok(h) ? c_green(o) : c_red(o), ok, c_off(o), s->path);
	if (h->have_pending)
		fprintf(f, "  %s\n", h->pending.line);
	watchstate_print(f, s->name);
	fprintf(f, "  %-14s %s\n", "forwarding", live->ip_forward == 1 ? "on" : "off");
	if (model_site_v6(s))
		fprintf(f, "  %-14s %s  (%s accept_ra=%u)\n", "forwarding6", live->ip6_forward == 1 ? "on" : "off",
			s->wan, live->wan_accept_ra);
	fprintf(f, "  %-14s all=%u\n", "rp_filter", live->rp_filter_all);
	if (s->netmap.len) {
		char a[20], b[20];

		fprintf(f, "  %-14s %s as %s  (netmap-out, netmap-in below)\n", "netmap", net4_str(netmap_lan(s), a),
			net4_str(s->netmap, b));
	}
	fprintf(f, "  %-14s " NFT_TABLE_PREFIX "%s %s\n", "nftables", s->name,
		!live->nft.present ? "missing" : live->nft_match == 1 ? "as configured" : "differs from the file");
	for (size_t i = 0; i < live->nft.n_counters; i++)
		fprintf(f, "  %-14s %-12s %12llu packets %14llu bytes\n", i ? "" : "rules", live->nft.counters[i].rule,
			(unsigned long long)live->nft.counters[i].packets, (unsigned long long)live->nft.counters[i].bytes);
	if (live->block.wanted || live->block.n_stale)
		fprintf(f, "  %-14s %u of %u xfrm block policies for the tunnels' protocols%s%s\n", "fail-closed",
			live->block.present, live->block.wanted, live->block.read ? "" : ": ", live->block.error);
	for (size_t i = 0; i < s->n_peers; i++)
		text_peer(f, r, i);
	if (s->relay.enabled)
		text_relay(f, r);
	if (h->n_reasons) {
		fprintf(f, "  %s%zu problem%s:%s\n", c_red(o), h->n_reasons, h->n_reasons == 1 ? "" : "s", c_off(o));
		for (size_t i = 0; i < h->n_reasons; i++) {
			fprintf(f, "    - %s\n", h->reasons[i].text);
			if (h->reasons[i].fix[0])
				fprintf(f, "      fix: %s\n", h->reasons[i].fix);
		}
	}
}

/* Status of one site whose file is known: gather (health.c judges), print.
 * 0 healthy, 1 degraded, -1 its kernel state could not be read. */
static int site_report(struct nl *rt, struct nl *nf, struct site *s, bool probe, struct out *o,
		       bool first)
{
	struct report r = { .s = s };
	int ret;

	if (health_read(rt, nf, s, probe, &r.h, stderr) < 0)
		return -1;
	if (s->relay.enabled) {
		r.relay_pid = relay_running(s->name, &r.relay_started, NULL);
		r.have_rs = relay_read_stats(s->name, &r.rs) == 0;
	}
	if (o->json)
		json_site(o->f, &r, first);
	else
		text_site(o, &r, first);
	ret = health_ok(&r.h) ? 0 : 1;
	if (r.have_rs)
		relay_stats_free(&r.rs);
	health_free(&r.h);
	return ret;
}

/* A site known by name only: its file from the state file, if any. NAMED:
 * the name was given (else found in the kernel: its table or tunnels). */
static int load_by_name(const char *name, bool named, struct site *s)
{
	char file[4096];
	struct state st;

	if (named) {
		if (sitearg_recorded("status", name, "gatewayctl status FILE", file, sizeof(file), stderr) < 0)
			return -1;
	} else if (state_read(name, &st) < 0 || !st.file[0]) {
		fprintf(stderr, "%s status: site %s: its table or tunnels are here, but no site file is recorded; "
			"give the file (gatewayctl status FILE), or remove them (gatewayctl down %s)\n", prog, name,
			name);
		return -1;
	} else {
		snprintf(file, sizeof(file), "%s", st.file);
	}
	if (config_load(file, s, stderr) < 0)
		return -2;
	return 0;
}

int status_main(int argc, char **argv)
{
	const char *arg, *output;
	struct out o = { .f = stdout };
	struct cmdline cl;
	bool probe, prometheus;
	struct nl rt, nf;
	int worst = EXIT_OK, r, printed = 0;
	char (*names)[SITE_NAME_MAX + 1] = NULL;
	size_t n_names = 0;

	if ((r = cmdopt_parse(&status_spec, argc, argv, &cl)))
		return r == 1 ? EXIT_OK : EXIT_USAGE;
	if (cl.n_operands > 1)
		return usage_error("status", "one site at a time (or none: every site): `%s` and `%s`", cl.operands[0],
				   cl.operands[1]);
	arg = cl.n_operands ? cl.operands[0] : NULL;
	o.json = cl.given[OPT_JSON];
	probe = cl.given[OPT_PROBE];
	prometheus = cl.given[OPT_PROMETHEUS];
	output = cl.value[OPT_OUTPUT];
	if (o.json && prometheus)
		return usage_error("status", "--json and --prometheus do not go together: choose one");
	if (output && !prometheus)
		return usage_error("status", "--output goes with --prometheus: --prometheus --output FILE");
	if (prometheus)
		return metrics_print(arg, probe, output);
	o.color = !o.json && isatty(fileno(stdout)) && !getenv("NO_COLOR");
	if (!have_net_admin()) {
		fprintf(stderr, "%s status: needs CAP_NET_ADMIN to read nftables: run it as root\n", prog);
		return EXIT_FAIL;
	}
	if ((r = nl_open(&rt, NETLINK_ROUTE)) < 0 || (r = nl_open(&nf, NETLINK_NETFILTER)) < 0) {
		fprintf(stderr, "%s status: cannot open netlink: %s\n", prog, strerror(-r));
		return EXIT_FAIL;
	}
	if (arg && sitearg_is_file(arg)) {
		names = calloc(1, sizeof(*names));
		n_names = 1;
	} else if (arg) {
		if (!site_name_valid(arg)) {
			nl_close(&rt);
			nl_close(&nf);
			return usage_error("status", "`%s` is neither a site file nor a site name", arg);
		}
		names = calloc(1, sizeof(*names));
		snprintf(names[0], sizeof(names[0]), "%s", arg);
		n_names = 1;
	} else {
		char (*st)[SITE_NAME_MAX + 1] = NULL, (*tables)[33] = NULL;
		size_t n_st = 0, n_tables = 0;

		state_sites(&st, &n_st);
		nft_list_sites(&nf, &tables, &n_tables);
		names = calloc(n_st + n_tables + 1, sizeof(*names));
		for (size_t i = 0; names && i < n_st + n_tables; i++) {
			const char *nm = i < n_st ? st[i] : tables[i - n_st];
			bool dup = false;

			for (size_t k = 0; k < n_names; k++)
				dup |= !strcmp(names[k], nm);
			if (!dup)
				snprintf(names[n_names++], sizeof(names[0]), "%s", nm);
		}
		free(st);
		free(tables);
	}
	if (o.json)
		printf("{\"version\": 1,\n  \"sites\": [\n");
	else if (!arg && n_names == 0)
		printf("no site of gatewayctl's here\n");
	for (size_t i = 0; names && i < n_names; i++) {
		struct site s;

		if (arg && !names[i][0]) {
			if (config_load(arg, &s, stderr) < 0) {
				worst = EXIT_USAGE;
				continue;
			}
		} else if ((r = load_by_name(names[i], arg != NULL, &s)) < 0) {
			worst = worst == EXIT_USAGE || r == -2 ? EXIT_USAGE : EXIT_FAIL;
			continue;
		}
		r = site_report(&rt, &nf, &s, probe, &o, printed == 0);
		if (r >= 0)
			printed++;
		if (r < 0 && worst == EXIT_OK)
			worst = EXIT_FAIL;
		else if (r > 0 && worst == EXIT_OK)
			worst = EXIT_FAIL;
		config_free(&s);
	}
	if (o.json)
		printf("\n  ]}\n");
	free(names);
	nl_close(&rt);
	nl_close(&nf);
	return worst;
}
