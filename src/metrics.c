/* metrics.c - `status --prometheus`: the health and counters that `status`
 * shows, as Prometheus metrics in the text exposition format (what
 * node_exporter's textfile collector reads). Reads only, like status; with
 * --output FILE the text replaces FILE atomically (a temporary file in the
 * same directory, then rename), so a scrape never sees half of it.
 *
 * Naming follows Prometheus' conventions: gatewayctl_ prefix, base units,
 * counters end in _total; labels site, peer, port (and network, rule, reason).
 * Metrics of one family are printed together, each with # HELP and # TYPE. */
#define _GNU_SOURCE
#include "metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/netlink.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "gatewayctl.h"
#include "health.h"
#include "ipsec.h"
#include "model.h"
#include "relay.h"
#include "sitearg.h"
#include "state.h"
#include "watchstate.h"

enum fam {
	M_BUILD_INFO,
	M_SITE_LOADED, M_SITE_HEALTHY, M_DRIFT, M_FORWARDING, M_FORWARDING6, M_ACCEPT_RA,
	M_NFT_PRESENT, M_NFT_MATCHES, M_NFT_PACKETS, M_NFT_BYTES, M_NETMAP,
	M_TUN_PRESENT, M_TUN_UP, M_TUN_RX_PACKETS, M_TUN_TX_PACKETS, M_TUN_RX_BYTES, M_TUN_TX_BYTES,
	M_TUN_RX_ERRORS, M_TUN_TX_ERRORS, M_TUN_RX_DROPPED, M_TUN_TX_DROPPED,
	M_ROUTE_PRESENT, M_BOGUS_ROUTE,
	M_IPSEC_CHARON, M_IPSEC_LOADED, M_IPSEC_ESTABLISHED, M_BLOCK_PRESENT, M_BLOCK_WANTED,
	M_ESP_RX_PACKETS, M_ESP_TX_PACKETS, M_ESP_RX_BYTES, M_ESP_TX_BYTES,
	M_PROBE_SUCCESS, M_PROBE_LOSS, M_PROBE_RTT,
	M_PEER_UP, M_PEER_LOSS, M_PEER_RTT,
	M_RELAY_RUNNING, M_RELAY_START,
	M_RELAY_RECEIVED, M_RELAY_RELAYED, M_RELAY_REBROADCAST, M_RELAY_DROPPED,
	M_RELAY_PEER_SENT, M_RELAY_PEER_RECEIVED, M_RELAY_PEER_DROPPED, M_RELAY_OTHER_DROPPED,
	M_WATCH_RUNNING, M_WATCH_REPAIRS, M_WATCH_FAILURES, M_WATCH_LAST_REPAIR, M_WATCH_FAILING,
	M_FAMILIES
};

static const struct {
	const char *name, *type, *help;
} fams[M_FAMILIES] = {
	[M_BUILD_INFO] = { "gatewayctl_build_info", "gauge", "gatewayctl's version (always 1)." },
	[M_SITE_LOADED] = { "gatewayctl_site_loaded", "gauge",
		"1 when the site's file and its kernel state could be read; 0: the site's other metrics are missing." },
	[M_SITE_HEALTHY] = { "gatewayctl_site_healthy", "gauge",
		"1 when `gatewayctl status SITE` (with the same --probe) reports the site healthy: no problem at all." },
	[M_DRIFT] = { "gatewayctl_site_drift_steps", "gauge",
		"Changes `gatewayctl up` would make for the kernel to match the site file (0: as configured)." },
	[M_FORWARDING] = { "gatewayctl_forwarding_enabled", "gauge", "1 when net.ipv4.ip_forward is on." },
	[M_FORWARDING6] = { "gatewayctl_forwarding6_enabled", "gauge",
		"1 when net.ipv6.conf.all.forwarding is on (sites with IPv6)." },
	[M_ACCEPT_RA] = { "gatewayctl_wan_accept_ra", "gauge",
		"The WAN's net.ipv6.conf.IF.accept_ra (sites with IPv6): 2 takes router advertisements while forwarding." },
	[M_NFT_PRESENT] = { "gatewayctl_nftables_table_present", "gauge",
		"1 when the site's nftables table exists." },
	[M_NFT_MATCHES] = { "gatewayctl_nftables_table_matches", "gauge",
		"1 when the site's nftables table is exactly what its file asks for." },
	[M_NFT_PACKETS] = { "gatewayctl_nftables_rule_packets_total", "counter",
		"Packets matched by a rule of the site's nftables table." },
	[M_NFT_BYTES] = { "gatewayctl_nftables_rule_bytes_total", "counter",
		"Bytes matched by a rule of the site's nftables table." },
	[M_NETMAP] = { "gatewayctl_site_netmap_info", "gauge",
		"The prefix the site's LAN appears under to its peers (`netmap`; always 1, only with a netmap)." },
	[M_TUN_PRESENT] = { "gatewayctl_tunnel_present", "gauge", "1 when the peer's IPIP tunnel exists." },
	[M_TUN_UP] = { "gatewayctl_tunnel_up", "gauge", "1 when the peer's IPIP tunnel exists and is up." },
	[M_TUN_RX_PACKETS] = { "gatewayctl_tunnel_receive_packets_total", "counter",
		"Packets received through the tunnel." },
	[M_TUN_TX_PACKETS] = { "gatewayctl_tunnel_transmit_packets_total", "counter",
		"Packets sent into the tunnel." },
	[M_TUN_RX_BYTES] = { "gatewayctl_tunnel_receive_bytes_total", "counter",
		"Bytes received through the tunnel." },
	[M_TUN_TX_BYTES] = { "gatewayctl_tunnel_transmit_bytes_total", "counter", "Bytes sent into the tunnel." },
	[M_TUN_RX_ERRORS] = { "gatewayctl_tunnel_receive_errors_total", "counter",
		"Receive errors of the tunnel." },
	[M_TUN_TX_ERRORS] = { "gatewayctl_tunnel_transmit_errors_total", "counter",
		"Transmit errors of the tunnel (no route to the endpoint, ...)." },
	[M_TUN_RX_DROPPED] = { "gatewayctl_tunnel_receive_dropped_total", "counter",
		"Received packets the tunnel dropped." },
	[M_TUN_TX_DROPPED] = { "gatewayctl_tunnel_transmit_dropped_total", "counter",
		"Packets to send that the tunnel dropped." },
	[M_ROUTE_PRESENT] = { "gatewayctl_route_present", "gauge",
		"1 when gatewayctl's route to a peer network through the peer's tunnel is there." },
	[M_BOGUS_ROUTE] = { "gatewayctl_bogus_host_route", "gauge",
		"1 when the peer's public address is routed into a tunnel (the classic bogus host route)." },
	[M_IPSEC_CHARON] = { "gatewayctl_ipsec_charon_reachable", "gauge",
		"1 when strongSwan's charon answers on its VICI socket (sites with IPsec peers)." },
	[M_BLOCK_PRESENT] = { "gatewayctl_ipsec_block_policies_present", "gauge",
		"gatewayctl's xfrm block policies in the kernel (4 per protocol of an ipsec peer's tunnel: "
		"4, and 41 for IPv6): they keep its packets from crossing in clear without charon or nftables." },
	[M_BLOCK_WANTED] = { "gatewayctl_ipsec_block_policies_wanted", "gauge",
		"The xfrm block policies the site's ipsec peers need (4 per peer, 8 with IPv6)." },
	[M_IPSEC_LOADED] = { "gatewayctl_ipsec_connection_loaded", "gauge",
		"1 when charon has the peer's IKE connection loaded (peers with encryption = ipsec)." },
	[M_IPSEC_ESTABLISHED] = { "gatewayctl_ipsec_established", "gauge",
		"1 when the peer's IKE_SA is established with an installed CHILD_SA (peers with encryption = ipsec)." },
	[M_ESP_RX_PACKETS] = { "gatewayctl_ipsec_esp_receive_packets_total", "counter",
		"Packets received by the peer's current CHILD_SA (starts again at each rekeying)." },
	[M_ESP_TX_PACKETS] = { "gatewayctl_ipsec_esp_transmit_packets_total", "counter",
		"Packets sent by the peer's current CHILD_SA (starts again at each rekeying)." },
	[M_ESP_RX_BYTES] = { "gatewayctl_ipsec_esp_receive_bytes_total", "counter",
		"Bytes received by the peer's current CHILD_SA (starts again at each rekeying)." },
	[M_ESP_TX_BYTES] = { "gatewayctl_ipsec_esp_transmit_bytes_total", "counter",
		"Bytes sent by the peer's current CHILD_SA (starts again at each rekeying)." },
	[M_PROBE_SUCCESS] = { "gatewayctl_probe_success", "gauge",
		"1 when the peer gateway's LAN address answered an echo request through the tunnel (--probe)." },
	[M_PROBE_LOSS] = { "gatewayctl_probe_loss_ratio", "gauge",
		"Share of the 3 probe echo requests left unanswered (--probe)." },
	[M_PROBE_RTT] = { "gatewayctl_probe_rtt_seconds", "gauge",
		"Average round trip of the answered probes (--probe)." },
	[M_PEER_UP] = { "gatewayctl_peer_up", "gauge",
		"1 when the peer gateway answers gatewayctl watch's probes (0 after 2 unanswered in a row)." },
	[M_PEER_LOSS] = { "gatewayctl_peer_loss_ratio", "gauge",
		"Share of gatewayctl watch's last 10 probes of the peer left unanswered." },
	[M_PEER_RTT] = { "gatewayctl_peer_rtt_seconds", "gauge",
		"Round trip of the last answered probe of gatewayctl watch through the tunnel." },
	[M_RELAY_RUNNING] = { "gatewayctl_relay_running", "gauge",
		"1 when the site's broadcast relay runs (sites with [relay])." },
	[M_RELAY_START] = { "gatewayctl_relay_start_time_seconds", "gauge",
		"When the running relay started, in seconds since the epoch." },
	[M_RELAY_RECEIVED] = { "gatewayctl_relay_received_datagrams_total", "counter",
		"Broadcasts the relay received from the LAN on a port." },
	[M_RELAY_RELAYED] = { "gatewayctl_relay_relayed_frames_total", "counter",
		"Frames the relay sent to peers for a port (one per peer and datagram)." },
	[M_RELAY_REBROADCAST] = { "gatewayctl_relay_rebroadcast_datagrams_total", "counter",
		"Datagrams from peers the relay broadcast on the LAN on a port." },
	[M_RELAY_DROPPED] = { "gatewayctl_relay_dropped_datagrams_total", "counter",
		"Datagrams of a port the relay dropped, by reason." },
	[M_RELAY_PEER_SENT] = { "gatewayctl_relay_peer_sent_frames_total", "counter",
		"Frames the relay sent to a peer." },
	[M_RELAY_PEER_RECEIVED] = { "gatewayctl_relay_peer_received_frames_total", "counter",
		"Frames the relay received from a peer." },
	[M_RELAY_PEER_DROPPED] = { "gatewayctl_relay_peer_dropped_frames_total", "counter",
		"Frames from or to a peer the relay dropped, by reason." },
	[M_RELAY_OTHER_DROPPED] = { "gatewayctl_relay_unattributed_dropped_frames_total", "counter",
		"Frames the relay dropped that belong to no configured peer or port, by reason." },
	[M_WATCH_RUNNING] = { "gatewayctl_watch_running", "gauge",
		"1 when `gatewayctl watch` keeps the site (gatewayctl-watch@SITE.service)." },
	[M_WATCH_REPAIRS] = { "gatewayctl_watch_repairs_total", "counter",
		"Repairs of drift the running watcher made (since it started)." },
	[M_WATCH_FAILURES] = { "gatewayctl_watch_failures_total", "counter",
		"Repairs the running watcher tried that failed (since it started)." },
	[M_WATCH_LAST_REPAIR] = { "gatewayctl_watch_last_repair_time_seconds", "gauge",
		"When the running watcher last repaired drift, in seconds since the epoch (0: not yet)." },
	[M_WATCH_FAILING] = { "gatewayctl_watch_failing", "gauge",
		"1 while the watcher's repairs fail (it retries, backing off up to 60 s)." },
};

struct sample {
	enum fam fam;
	char labels[384];	/* {site="...",...}, escaped */
	char value[32];
};

struct metrics {
	struct sample *s;
	size_t n, cap;
	bool oom;
};

/* Append KEY="VALUE" to the label set in DST (escaping \, " and line feeds). */
static void label(char *dst, size_t len, const char *key, const char *value)
{
	size_t at = strlen(dst);

	at += (size_t)snprintf(dst + at, len - at, "%s%s=\"", at ? "," : "", key);
	for (; *value && at + 4 < len; value++) {
		if (*value == '\\' || *value == '"')
			dst[at++] = '\\', dst[at++] = *value;
		else if (*value == '\n')
			dst[at++] = '\\', dst[at++] = 'n';
		else
			dst[at++] = *value;
	}
	if (at + 2 < len)
		dst[at++] = '"';
	dst[at] = '\0';
}

/* Labels, printed in this order; NULL ones are left out. */
struct lbl {
	const char *site, *peer, *port, *key, *value;
};
#define L(...) ((struct lbl){ __VA_ARGS__ })

/* A sample of FAM with VALUE and labels L. */
static void add(struct metrics *m, enum fam fam, const char *value, struct lbl l)
{
	struct sample *s;

	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 256;
		struct sample *q = realloc(m->s, cap * sizeof(*q));

		if (!q) {
			m->oom = true;
			return;
		}
		m->s = q;
		m->cap = cap;
	}
	s = &m->s[m->n++];
	s->fam = fam;
	s->labels[0] = '\0';
	snprintf(s->value, sizeof(s->value), "%s", value);
	if (l.site)
		label(s->labels, sizeof(s->labels), "site", l.site);
	if (l.peer)
		label(s->labels, sizeof(s->labels), "peer", l.peer);
	if (l.port)
		label(s->labels, sizeof(s->labels), "port", l.port);
	if (l.key)
		label(s->labels, sizeof(s->labels), l.key, l.value ? l.value : "");
}

static const char *u64(char *buf, uint64_t v)
{
	snprintf(buf, 24, "%llu", (unsigned long long)v);
	return buf;
}

static const char *flag(bool v)
{
	return v ? "1" : "0";
}

static void print_all(const struct metrics *m, FILE *f)
{
	for (int fam = 0; fam < M_FAMILIES; fam++) {
		bool head = false;

		for (size_t i = 0; i < m->n; i++) {
			const struct sample *s = &m->s[i];

			if (s->fam != (enum fam)fam)
				continue;
			if (!head) {
				fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", fams[fam].name, fams[fam].help,
					fams[fam].name, fams[fam].type);
				head = true;
			}
			fprintf(f, "%s%s%s%s %s\n", fams[fam].name, s->labels[0] ? "{" : "", s->labels,
				s->labels[0] ? "}" : "", s->value);
		}
	}
}

/* ---- one site ------------------------------------------------------------------ */

static void peer_metrics(struct metrics *m, const struct site *s, const struct peer *p, const struct health *h)
{
	const struct live *live = &h->live;
	const struct link_info *l = live_link(live, p->tunnel);
	const char *site = s->name, *peer = p->name;
	char b[24], net[20];

	add(m, M_TUN_PRESENT, flag(l), L(.site = site, .peer = peer));
	add(m, M_TUN_UP, flag(l && (l->flags & IFF_UP)), L(.site = site, .peer = peer));
	if (l) {
		add(m, M_TUN_RX_PACKETS, u64(b, l->rx_packets), L(.site = site, .peer = peer));
		add(m, M_TUN_TX_PACKETS, u64(b, l->tx_packets), L(.site = site, .peer = peer));
		add(m, M_TUN_RX_BYTES, u64(b, l->rx_bytes), L(.site = site, .peer = peer));
		add(m, M_TUN_TX_BYTES, u64(b, l->tx_bytes), L(.site = site, .peer = peer));
		add(m, M_TUN_RX_ERRORS, u64(b, l->rx_errors), L(.site = site, .peer = peer));
		add(m, M_TUN_TX_ERRORS, u64(b, l->tx_errors), L(.site = site, .peer = peer));
		add(m, M_TUN_RX_DROPPED, u64(b, l->rx_dropped), L(.site = site, .peer = peer));
		add(m, M_TUN_TX_DROPPED, u64(b, l->tx_dropped), L(.site = site, .peer = peer));
	}
	for (size_t k = 0; k < p->n_networks; k++)
		add(m, M_ROUTE_PRESENT, flag(live_route_present(live, l, p->networks[k], s->lan_address.addr)),
		    L(.site = site, .peer = peer, .key = "network", .value = net4_str(p->networks[k], net)));
	for (size_t k = 0; k < p->n_networks6; k++) {
		char net6[IP6_STRLEN + 4];

		add(m, M_ROUTE_PRESENT, flag(live_route6_present(live, l, p->networks6[k], s->lan_address6.addr)),
		    L(.site = site, .peer = peer, .key = "network", .value = net6_str(p->networks6[k], net6)));
	}
	add(m, M_BOGUS_ROUTE, flag(live_bogus_route(live, p)), L(.site = site, .peer = peer));

	if (p->encryption == ENC_IPSEC) {
		const struct ipsec_peer_live *pl = live->ipsec.peers ? &live->ipsec.peers[p - s->peers] : NULL;
		const struct vici_child_sa *c = ipsec_installed_child(pl ? pl->sa : NULL);

		add(m, M_IPSEC_LOADED, flag(pl && pl->loaded), L(.site = site, .peer = peer));
		add(m, M_IPSEC_ESTABLISHED, flag(c), L(.site = site, .peer = peer));
		if (c) {
			add(m, M_ESP_RX_PACKETS, u64(b, c->packets_in), L(.site = site, .peer = peer));
			add(m, M_ESP_TX_PACKETS, u64(b, c->packets_out), L(.site = site, .peer = peer));
			add(m, M_ESP_RX_BYTES, u64(b, c->bytes_in), L(.site = site, .peer = peer));
			add(m, M_ESP_TX_BYTES, u64(b, c->bytes_out), L(.site = site, .peer = peer));
		}
	}
	if (h->probes && h->probed && p->lan_address) {
		const struct probe *pr = &h->probes[p - s->peers];
		char v[32];

		/* not tried (our tunnel missing or down): no answer, as status says */
		if (!h->probed[p - s->peers]) {
			add(m, M_PROBE_SUCCESS, "0", L(.site = site, .peer = peer));
			add(m, M_PROBE_LOSS, "1", L(.site = site, .peer = peer));
			return;
		}
		if (pr->error[0]) {
			fprintf(stderr, "%s status: site %s: probe of peer %s: %s\n", prog, site, peer, pr->error);
			return;
		}
		add(m, M_PROBE_SUCCESS, flag(pr->received > 0), L(.site = site, .peer = peer));
		snprintf(v, sizeof(v), "%.4g", pr->sent ? 1.0 - (double)pr->received / pr->sent : 1.0);
		add(m, M_PROBE_LOSS, v, L(.site = site, .peer = peer));
		if (pr->received) {
			snprintf(v, sizeof(v), "%.6f", pr->avg / 1000.0);
			add(m, M_PROBE_RTT, v, L(.site = site, .peer = peer));
		}
	}
}

static void relay_metrics(struct metrics *m, const struct site *s)
{
	struct relay_stats rs = { 0 };
	time_t started = 0;
	pid_t pid = relay_running(s->name, &started, NULL);
	char b[24], port[8];

	add(m, M_RELAY_RUNNING, flag(pid), L(.site = s->name));
	if (pid)
		add(m, M_RELAY_START, u64(b, (uint64_t)started), L(.site = s->name));
	if (relay_read_stats(s->name, &rs) < 0)
		return;
	for (size_t i = 0; i < rs.n_ports; i++) {
		const struct relay_port_stats *ps = &rs.ports[i];

		snprintf(port, sizeof(port), "%u", ps->port);
		add(m, M_RELAY_RECEIVED, u64(b, ps->received), L(.site = s->name, .port = port));
		add(m, M_RELAY_RELAYED, u64(b, ps->relayed), L(.site = s->name, .port = port));
		add(m, M_RELAY_REBROADCAST, u64(b, ps->rebroadcast), L(.site = s->name, .port = port));
		for (int d = 0; d < DROP_REASONS; d++)
			add(m, M_RELAY_DROPPED, u64(b, ps->dropped[d]),
			    L(.site = s->name, .port = port, .key = "reason", .value = relay_drop_name(d)));
	}
	for (size_t i = 0; i < rs.n_peers; i++) {
		const struct relay_peer_stats *ps = &rs.peers[i];

		add(m, M_RELAY_PEER_SENT, u64(b, ps->sent), L(.site = s->name, .peer = ps->name));
		add(m, M_RELAY_PEER_RECEIVED, u64(b, ps->received), L(.site = s->name, .peer = ps->name));
		for (int d = 0; d < DROP_REASONS; d++)
			add(m, M_RELAY_PEER_DROPPED, u64(b, ps->dropped[d]),
			    L(.site = s->name, .peer = ps->name, .key = "reason", .value = relay_drop_name(d)));
	}
	for (int d = 0; d < DROP_REASONS; d++)
		add(m, M_RELAY_OTHER_DROPPED, u64(b, rs.dropped_other[d]),
		    L(.site = s->name, .key = "reason", .value = relay_drop_name(d)));
	relay_stats_free(&rs);
}

/* The watcher's (watchstate.h): running or not, and its counters when it runs. */
static void watch_metrics(struct metrics *m, const char *site)
{
	struct watch_state ws;
	bool alive = watchstate_read(site, &ws) == 0 && watchstate_alive(&ws);
	char b[24];

	add(m, M_WATCH_RUNNING, flag(alive), L(.site = site));
	if (!alive)
		return;
	add(m, M_WATCH_REPAIRS, u64(b, ws.repairs), L(.site = site));
	add(m, M_WATCH_FAILURES, u64(b, ws.failures), L(.site = site));
	add(m, M_WATCH_LAST_REPAIR, u64(b, (uint64_t)ws.last_repair), L(.site = site));
	add(m, M_WATCH_FAILING, flag(ws.failing_since != 0), L(.site = site));
}

/* The metrics of site S. 0, or -1 when its kernel state could not be read.
 * Its health is status's own judgement (health.c). */
/* What gatewayctl watch's probes found (peerwatch.h). */
static void watch_probe_metrics(struct metrics *m, const struct site *s, const struct pw_file *f)
{
	char v[32];

	for (size_t i = 0; i < f->n; i++) {
		const struct pw_file_peer *p = &f->peers[i];

		if (p->state == PW_UNKNOWN)
			continue;
		add(m, M_PEER_UP, flag(p->state == PW_UP), L(.site = s->name, .peer = p->name));
		snprintf(v, sizeof(v), "%.4g", p->loss);
		add(m, M_PEER_LOSS, v, L(.site = s->name, .peer = p->name));
		if (p->received) {
			snprintf(v, sizeof(v), "%.6f", p->rtt_ms / 1000.0);
			add(m, M_PEER_RTT, v, L(.site = s->name, .peer = p->name));
		}
	}
}

static int site_metrics(struct metrics *m, struct nl *rt, struct nl *nf, struct site *s, bool probe)
{
	struct health h;
	const struct live *live = &h.live;
	char b[24], nm[20];

	if (health_read(rt, nf, s, probe, &h, stderr) < 0) {
		add(m, M_SITE_LOADED, "0", L(.site = s->name));
		return -1;
	}
	add(m, M_SITE_LOADED, "1", L(.site = s->name));
	add(m, M_DRIFT, u64(b, h.plan.n), L(.site = s->name));
	add(m, M_FORWARDING, flag(live->ip_forward == 1), L(.site = s->name));
	if (model_site_v6(s)) {
		add(m, M_FORWARDING6, flag(live->ip6_forward == 1), L(.site = s->name));
		add(m, M_ACCEPT_RA, u64(b, live->wan_accept_ra), L(.site = s->name, .key = "interface", .value = s->wan));
	}
	add(m, M_NFT_PRESENT, flag(live->nft.present), L(.site = s->name));
	add(m, M_NFT_MATCHES, flag(live->nft_match == 1), L(.site = s->name));
	if (s->netmap.len)
		add(m, M_NETMAP, "1", L(.site = s->name, .key = "netmap", .value = net4_str(s->netmap, nm)));
	for (size_t i = 0; i < live->nft.n_counters; i++) {
		add(m, M_NFT_PACKETS, u64(b, live->nft.counters[i].packets),
		    L(.site = s->name, .key = "rule", .value = live->nft.counters[i].rule));
		add(m, M_NFT_BYTES, u64(b, live->nft.counters[i].bytes),
		    L(.site = s->name, .key = "rule", .value = live->nft.counters[i].rule));
	}
	if (ipsec_site_uses(s)) {
		add(m, M_IPSEC_CHARON, flag(live->ipsec.reachable), L(.site = s->name));
		add(m, M_BLOCK_PRESENT, u64(b, live->block.present), L(.site = s->name));
		add(m, M_BLOCK_WANTED, u64(b, live->block.wanted), L(.site = s->name));
	}
	for (size_t i = 0; i < s->n_peers; i++)
		peer_metrics(m, s, &s->peers[i], &h);
	if (h.have_watch)
		watch_probe_metrics(m, s, &h.watch);
	if (s->relay.enabled)
		relay_metrics(m, s);
	watch_metrics(m, s->name);
	add(m, M_SITE_HEALTHY, flag(health_ok(&h)), L(.site = s->name));
	health_free(&h);
	return 0;
}

/* ---- writing ------------------------------------------------------------------- */

/* Replace PATH by DATA: a temporary file beside it (a name node_exporter's
 * textfile collector ignores: it does not end in .prom), fsync, rename. */
static int write_atomic(const char *path, const char *data, size_t len)
{
	const char *slash = strrchr(path, '/');
	char tmp[4200];
	size_t off = 0;
	int fd, r = 0;

	if (slash)
		snprintf(tmp, sizeof(tmp), "%.*s/.%s.XXXXXX", (int)(slash - path), path, slash + 1);
	else
		snprintf(tmp, sizeof(tmp), ".%s.XXXXXX", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, 0644) < 0)
		r = -errno;
	while (r == 0 && off < len) {
		ssize_t n = write(fd, data + off, len - off);

		if (n < 0 && errno != EINTR)
			r = -errno;
		else if (n > 0)
			off += (size_t)n;
	}
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

/* ---- the command ------------------------------------------------------------------ */

/* The sites to report: the one named by ARG, or all of this namespace's. */
static int site_names(struct nl *nf, const char *arg, char (**names)[SITE_NAME_MAX + 1], size_t *n)
{
	char (*st)[SITE_NAME_MAX + 1] = NULL, (*tables)[33] = NULL;
	size_t n_st = 0, n_tables = 0;

	*n = 0;
	if (arg) {
		*names = calloc(1, sizeof(**names));
		if (!*names)
			return -ENOMEM;
		snprintf((*names)[0], sizeof(**names), "%s", arg);
		*n = 1;
		return 0;
	}
	state_sites(&st, &n_st);
	nft_list_sites(nf, &tables, &n_tables);
	*names = calloc(n_st + n_tables + 1, sizeof(**names));
	for (size_t i = 0; *names && i < n_st + n_tables; i++) {
		const char *nm = i < n_st ? st[i] : tables[i - n_st];
		bool dup = false;

		for (size_t k = 0; k < *n; k++)
			dup |= !strcmp((*names)[k], nm);
		if (!dup && site_name_valid(nm))
			snprintf((*names)[(*n)++], sizeof(**names), "%s", nm);
	}
	free(st);
	free(tables);
	return *names ? 0 : -ENOMEM;
}

/* Site NAME's file, the one its last up recorded, into *S. NAMED: the name was
 * given (else found here). 0, or -1 (said on stderr in one line: the file's
 * errors are `check`'s to tell). */
static int load_named(const char *name, bool named, struct site *s)
{
	struct state st;
	FILE *devnull;
	int loaded = -1;

	if (named ? sitearg_recorded("status", name, "gatewayctl status --prometheus FILE", st.file, sizeof(st.file),
				     stderr) < 0 : state_read(name, &st) < 0 || !st.file[0]) {
		if (!named)
			fprintf(stderr, "%s status: site %s: its table or tunnels are here, but no site file "
				"is recorded\n", prog, name);
	} else if ((devnull = fopen("/dev/null", "w"))) {
		loaded = config_load(st.file, s, devnull);
		fclose(devnull);
		if (loaded < 0)
			fprintf(stderr, "%s status: site %s: its file %s is not valid (gatewayctl check %s)\n", prog,
				name, st.file, st.file);
	}
	return loaded < 0 ? -1 : 0;
}

int metrics_print(const char *arg, bool probe, const char *output)
{
	struct metrics m = { 0 };
	char (*names)[SITE_NAME_MAX + 1] = NULL;
	size_t n_names = 0, len = 0;
	char *text = NULL;
	bool by_file = false;
	struct nl rt, nf;
	FILE *f;
	int r, ret = EXIT_OK;

	if (arg && sitearg_is_file(arg))
		by_file = true;
	else if (arg && !site_name_valid(arg))
		return usage_error("status", "`%s` is neither a site file nor a site name", arg);
	if (!have_net_admin()) {
		fprintf(stderr, "%s status: needs CAP_NET_ADMIN to read nftables: run it as root\n", prog);
		return EXIT_FAIL;
	}
	if ((r = nl_open(&rt, NETLINK_ROUTE)) < 0) {
		fprintf(stderr, "%s status: cannot open netlink: %s\n", prog, strerror(-r));
		return EXIT_FAIL;
	}
	if ((r = nl_open(&nf, NETLINK_NETFILTER)) < 0) {
		fprintf(stderr, "%s status: cannot open netlink: %s\n", prog, strerror(-r));
		nl_close(&rt);
		return EXIT_FAIL;
	}
	add(&m, M_BUILD_INFO, "1", L(.key = "version", .value = GATEWAYCTL_VERSION));
	if (site_names(&nf, by_file ? NULL : arg, &names, &n_names) < 0 && !by_file)
		m.oom = true;
	if (by_file) {
		struct site s;

		if (config_load(arg, &s, stderr) < 0) {
			ret = EXIT_USAGE;
		} else {
			if (site_metrics(&m, &rt, &nf, &s, probe) < 0)
				ret = EXIT_FAIL;
			config_free(&s);
		}
		n_names = 0;
	}
	for (size_t i = 0; i < n_names; i++) {
		struct site s;

		if (load_named(names[i], arg != NULL, &s) < 0) {
			add(&m, M_SITE_LOADED, "0", L(.site = names[i]));
			ret = EXIT_FAIL;
			continue;
		}
		if (site_metrics(&m, &rt, &nf, &s, probe) < 0)
			ret = EXIT_FAIL;
		config_free(&s);
	}
	free(names);
	nl_close(&rt);
	nl_close(&nf);
	if (ret == EXIT_USAGE || m.oom) {
		if (m.oom)
			fprintf(stderr, "%s status: out of memory\n", prog);
		free(m.s);
		return m.oom ? EXIT_FAIL : ret;
	}
	f = open_memstream(&text, &len);
	if (!f) {
		free(m.s);
		fprintf(stderr, "%s status: out of memory\n", prog);
		return EXIT_FAIL;
	}
	print_all(&m, f);
	free(m.s);
	if (fclose(f) != 0) {
		free(text);
		fprintf(stderr, "%s status: out of memory\n", prog);
		return EXIT_FAIL;
	}
	if (output) {
		if ((r = write_atomic(output, text, len)) < 0) {
			fprintf(stderr, "%s status: cannot write %s: %s\n", prog, output, strerror(-r));
			ret = EXIT_FAIL;
		}
	} else if (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0) {
		ret = EXIT_FAIL;
	}
	free(text);
	return ret;
}
