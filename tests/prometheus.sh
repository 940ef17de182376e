#!/bin/bash
# The example alert rules (contrib/prometheus/gatewayctl.rules.yml): promtool
# accepts them, every metric they use is one gatewayctl writes (src/metrics.c),
# and promtool's rule unit tests show them firing when they should: a tunnel
# down for 5 minutes (link down, or probe unanswered), IPsec not established,
# and not before 5 minutes, nor for a healthy peer.
set -u
cd "$(dirname "$0")/.."
rules=$PWD/contrib/prometheus/gatewayctl.rules.yml
pass=0 fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
check() { # MSG CMD...
	local msg=$1
	shift
	if "$@" >"$tmp/out" 2>&1; then pass=$((pass + 1)); echo "ok - $msg"; else
		fail=$((fail + 1)); echo "FAIL - $msg"; sed 's/^/    /' "$tmp/out" | head -40
	fi
}
if ! command -v promtool >/dev/null; then
	echo "SKIP - promtool is missing (Debian package prometheus)"
	echo "prometheus: 0 passed, 0 failed, 1 skipped"
	exit 77
fi
check "promtool check rules" promtool check rules "$rules"

missing=''
for m in $(grep -oE 'gatewayctl_[a-z_]+' "$rules" | sort -u); do
	grep -q "\"$m\"" src/metrics.c || missing="$missing $m"
done
check "every metric the rules use is one gatewayctl writes" test -z "$missing"
[ -z "$missing" ] || echo "    not in src/metrics.c:$missing"

cat >"$tmp/test.yml" <<EOT
rule_files: [$rules]
evaluation_interval: 30s
tests:
  - interval: 30s
    input_series:
      # brooklyn's tunnel goes down after 1 minute; queens stays up but stops
      # answering probes after 1 minute; bronx is healthy throughout
      - series: 'gatewayctl_tunnel_up{instance="gw1",site="manhattan",peer="brooklyn"}'
        values: '1 1 0x20'
      - series: 'gatewayctl_tunnel_up{instance="gw1",site="manhattan",peer="queens"}'
        values: '1x22'
      - series: 'gatewayctl_probe_success{instance="gw1",site="manhattan",peer="queens"}'
        values: '1 1 0x20'
      - series: 'gatewayctl_tunnel_up{instance="gw1",site="manhattan",peer="bronx"}'
        values: '1x22'
      - series: 'gatewayctl_probe_success{instance="gw1",site="manhattan",peer="bronx"}'
        values: '1x22'
      - series: 'gatewayctl_ipsec_established{instance="gw1",site="manhattan",peer="bronx"}'
        values: '1x22'
      - series: 'gatewayctl_ipsec_established{instance="gw1",site="manhattan",peer="queens"}'
        values: '0x22'
      # fail closed: manhattan loses its block policies after 1 minute, queens
      # its nftables table; bronx (IPsec) keeps both; harlem (no IPsec) has no
      # table at all and no block metrics
      - series: 'gatewayctl_ipsec_block_policies_wanted{instance="gw2",site="manhattan"}'
        values: '4x22'
      - series: 'gatewayctl_ipsec_block_policies_present{instance="gw2",site="manhattan"}'
        values: '4 4 0x20'
      - series: 'gatewayctl_nftables_table_present{instance="gw2",site="manhattan"}'
        values: '1x22'
      - series: 'gatewayctl_ipsec_block_policies_wanted{instance="gw2",site="queens"}'
        values: '8x22'
      - series: 'gatewayctl_ipsec_block_policies_present{instance="gw2",site="queens"}'
        values: '8x22'
      - series: 'gatewayctl_nftables_table_present{instance="gw2",site="queens"}'
        values: '1 1 0x20'
      - series: 'gatewayctl_ipsec_block_policies_wanted{instance="gw2",site="bronx"}'
        values: '4x22'
      - series: 'gatewayctl_ipsec_block_policies_present{instance="gw2",site="bronx"}'
        values: '4x22'
      - series: 'gatewayctl_nftables_table_present{instance="gw2",site="bronx"}'
        values: '1x22'
      - series: 'gatewayctl_nftables_table_present{instance="gw2",site="harlem"}'
        values: '0x22'
    alert_rule_test:
      - eval_time: 1m
        alertname: GatewayctlIPsecUnprotected
        exp_alerts: []
      - eval_time: 3m
        alertname: GatewayctlIPsecUnprotected
        exp_alerts:
          - exp_labels: {severity: critical, instance: gw2, site: manhattan}
            exp_annotations:
              summary: "IPsec site manhattan is missing its xfrm block policies or its nftables table"
              description: "On gw2: \`gatewayctl status manhattan\` names what is missing; \`gatewayctl up\` puts it back."
          - exp_labels: {severity: critical, instance: gw2, site: queens}
            exp_annotations:
              summary: "IPsec site queens is missing its xfrm block policies or its nftables table"
              description: "On gw2: \`gatewayctl status queens\` names what is missing; \`gatewayctl up\` puts it back."
      - eval_time: 5m
        alertname: GatewayctlTunnelDown
        exp_alerts: []
      - eval_time: 7m
        alertname: GatewayctlTunnelDown
        exp_alerts:
          - exp_labels: {severity: critical, instance: gw1, site: manhattan, peer: brooklyn}
            exp_annotations:
              summary: "Tunnel from manhattan to brooklyn down for 5 minutes"
              description: "On gw1: \`gatewayctl status --probe manhattan\` says why; \`gatewayctl up\` repairs what is gatewayctl's."
          - exp_labels: {severity: critical, instance: gw1, site: manhattan, peer: queens}
            exp_annotations:
              summary: "Tunnel from manhattan to queens down for 5 minutes"
              description: "On gw1: \`gatewayctl status --probe manhattan\` says why; \`gatewayctl up\` repairs what is gatewayctl's."
      - eval_time: 4m
        alertname: GatewayctlIPsecNotEstablished
        exp_alerts: []
      - eval_time: 6m
        alertname: GatewayctlIPsecNotEstablished
        exp_alerts:
          - exp_labels: {severity: critical, instance: gw1, site: manhattan, peer: queens}
            exp_annotations:
              summary: "IPsec between manhattan and queens not established for 5 minutes"
              description: "On gw1: \`gatewayctl status manhattan\` shows charon's reason; the tunnel carries nothing meanwhile (fail closed)."
EOT
check "promtool test rules: tunnel down and IPsec alerts fire after 5 minutes, only for the broken peers; an IPsec site without block policies or table after 1 minute" \
	promtool test rules "$tmp/test.yml"
echo "prometheus: $pass passed, $fail failed"
[ $fail = 0 ]
