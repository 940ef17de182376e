/* nftcheck.c - the shape of an nftables message, checked before libnftnl
 * parses it.
 *
 * libnftnl 1.2.4 trusts the kernel: an attribute of a size it does not
 * expect makes it call exit() ("nf_tables kernel ABI is broken"), an
 * expression without a name is dereferenced as a NULL string, and strings
 * are strdup'ed whether or not they end. So every message of the read-back
 * is walked here first, against the attribute types of the uapi header
 * (linux/netfilter/nf_tables.h): fixed-size integers of their exact size,
 * strings NUL-terminated, nests made of whole attributes, recursively.
 * Attribute types this table does not know are left alone (libnftnl ignores
 * them too). Rule and set expressions must be among those gatewayctl's own
 * rules use; anything else is refused, and the read-back then treats the
 * object as one it cannot read (the table does not match).
 */
#include "nft_priv.h"

#include <stdbool.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

enum kind {
	K_NONE,		/* not checked */
	K_U8, K_U32, K_U64,
	K_STR,		/* NUL-terminated */
	K_BIN,		/* any bytes */
	K_NEST,		/* whole attributes, checked against .nest[type] if given */
	K_DATA,		/* nft_data: exactly one value or one verdict */
	K_EXPR,		/* one expression: its data checked by its name */
};

struct policy {
	unsigned max;
	const unsigned char *kind;		/* [1..max] */
	const struct policy *const *nest;	/* [1..max] or NULL */
	bool strict;				/* types above max refused */
};

#define N(a) (sizeof(a) / sizeof((a)[0]) - 1)
#define POLICY(k, n) { N(k), k, n, false }

/* Verdicts (in nft_data) */
static const unsigned char verdict_k[] = {
	[NFTA_VERDICT_CODE] = K_U32, [NFTA_VERDICT_CHAIN] = K_STR, [NFTA_VERDICT_CHAIN_ID] = K_U32,
};
static const struct policy verdict_p = POLICY(verdict_k, NULL);

/* The expressions gatewayctl's rules are made of */
static const unsigned char meta_k[] = {
	[NFTA_META_DREG] = K_U32, [NFTA_META_KEY] = K_U32, [NFTA_META_SREG] = K_U32,
};
static const unsigned char cmp_k[] = {
	[NFTA_CMP_SREG] = K_U32, [NFTA_CMP_OP] = K_U32, [NFTA_CMP_DATA] = K_DATA,
};
static const unsigned char payload_k[] = {
	[NFTA_PAYLOAD_DREG] = K_U32, [NFTA_PAYLOAD_BASE] = K_U32, [NFTA_PAYLOAD_OFFSET] = K_U32,
	[NFTA_PAYLOAD_LEN] = K_U32, [NFTA_PAYLOAD_SREG] = K_U32, [NFTA_PAYLOAD_CSUM_TYPE] = K_U32,
	[NFTA_PAYLOAD_CSUM_OFFSET] = K_U32, [NFTA_PAYLOAD_CSUM_FLAGS] = K_U32,
};
static const unsigned char lookup_k[] = {
	[NFTA_LOOKUP_SET] = K_STR, [NFTA_LOOKUP_SREG] = K_U32, [NFTA_LOOKUP_DREG] = K_U32,
	[NFTA_LOOKUP_SET_ID] = K_U32, [NFTA_LOOKUP_FLAGS] = K_U32,
};
static const unsigned char counter_k[] = {
	[NFTA_COUNTER_BYTES] = K_U64, [NFTA_COUNTER_PACKETS] = K_U64,
};
static const unsigned char immediate_k[] = {
	[NFTA_IMMEDIATE_DREG] = K_U32, [NFTA_IMMEDIATE_DATA] = K_DATA,
};
static const unsigned char nat_k[] = {
	[NFTA_NAT_TYPE] = K_U32, [NFTA_NAT_FAMILY] = K_U32, [NFTA_NAT_REG_ADDR_MIN] = K_U32,
	[NFTA_NAT_REG_ADDR_MAX] = K_U32, [NFTA_NAT_REG_PROTO_MIN] = K_U32,
	[NFTA_NAT_REG_PROTO_MAX] = K_U32, [NFTA_NAT_FLAGS] = K_U32,
};
static const unsigned char bitwise_k[] = {
	[NFTA_BITWISE_SREG] = K_U32, [NFTA_BITWISE_DREG] = K_U32, [NFTA_BITWISE_LEN] = K_U32,
	[NFTA_BITWISE_MASK] = K_DATA, [NFTA_BITWISE_XOR] = K_DATA, [NFTA_BITWISE_OP] = K_U32,
	[NFTA_BITWISE_DATA] = K_DATA,
};
static const unsigned char rt_k[] = { [NFTA_RT_DREG] = K_U32, [NFTA_RT_KEY] = K_U32 };
static const unsigned char byteorder_k[] = {
	[NFTA_BYTEORDER_SREG] = K_U32, [NFTA_BYTEORDER_DREG] = K_U32, [NFTA_BYTEORDER_OP] = K_U32,
	[NFTA_BYTEORDER_LEN] = K_U32, [NFTA_BYTEORDER_SIZE] = K_U32,
};
static const unsigned char exthdr_k[] = {
	[NFTA_EXTHDR_DREG] = K_U32, [NFTA_EXTHDR_TYPE] = K_U8, [NFTA_EXTHDR_OFFSET] = K_U32,
	[NFTA_EXTHDR_LEN] = K_U32, [NFTA_EXTHDR_FLAGS] = K_U32, [NFTA_EXTHDR_OP] = K_U32,
	[NFTA_EXTHDR_SREG] = K_U32,
};

static const unsigned char fib_k[] = {
	[NFTA_FIB_DREG] = K_U32, [NFTA_FIB_RESULT] = K_U32, [NFTA_FIB_FLAGS] = K_U32,
};

static const struct {
	const char *name;
	struct policy data;
} exprs[] = {
	{ "meta", POLICY(meta_k, NULL) },
	{ "cmp", POLICY(cmp_k, NULL) },
	{ "payload", POLICY(payload_k, NULL) },
	{ "lookup", POLICY(lookup_k, NULL) },
	{ "counter", POLICY(counter_k, NULL) },
	{ "immediate", POLICY(immediate_k, NULL) },
	{ "nat", POLICY(nat_k, NULL) },
	{ "bitwise", POLICY(bitwise_k, NULL) },
	{ "rt", POLICY(rt_k, NULL) },
	{ "byteorder", POLICY(byteorder_k, NULL) },
	{ "exthdr", POLICY(exthdr_k, NULL) },
	{ "fib", POLICY(fib_k, NULL) },
};

/* A list of expressions: NFTA_LIST_ELEM each */
static const unsigned char exprs_k[] = { [NFTA_LIST_ELEM] = K_EXPR };
static const struct policy exprs_p = POLICY(exprs_k, NULL);

/* Tables, chains, sets, elements, rules */
static const unsigned char table_k[] = {
	[NFTA_TABLE_NAME] = K_STR, [NFTA_TABLE_FLAGS] = K_U32, [NFTA_TABLE_USE] = K_U32,
	[NFTA_TABLE_HANDLE] = K_U64, [NFTA_TABLE_USERDATA] = K_BIN, [NFTA_TABLE_OWNER] = K_U32,
};
static const struct policy table_p = POLICY(table_k, NULL);

static const unsigned char device_k[] = { [NFTA_DEVICE_NAME] = K_STR };
static const struct policy device_p = POLICY(device_k, NULL);
static const unsigned char hook_k[] = {
	[NFTA_HOOK_HOOKNUM] = K_U32, [NFTA_HOOK_PRIORITY] = K_U32, [NFTA_HOOK_DEV] = K_STR,
	[NFTA_HOOK_DEVS] = K_NEST,
};
static const struct policy *const hook_n[N(hook_k) + 1] = { [NFTA_HOOK_DEVS] = &device_p };
static const struct policy hook_p = POLICY(hook_k, hook_n);
static const struct policy counter_p = POLICY(counter_k, NULL);
static const unsigned char chain_k[] = {
	[NFTA_CHAIN_TABLE] = K_STR, [NFTA_CHAIN_HANDLE] = K_U64, [NFTA_CHAIN_NAME] = K_STR,
	[NFTA_CHAIN_HOOK] = K_NEST, [NFTA_CHAIN_POLICY] = K_U32, [NFTA_CHAIN_USE] = K_U32,
	[NFTA_CHAIN_TYPE] = K_STR, [NFTA_CHAIN_COUNTERS] = K_NEST, [NFTA_CHAIN_FLAGS] = K_U32,
	[NFTA_CHAIN_ID] = K_U32, [NFTA_CHAIN_USERDATA] = K_BIN,
};
static const struct policy *const chain_n[N(chain_k) + 1] = {
	[NFTA_CHAIN_HOOK] = &hook_p, [NFTA_CHAIN_COUNTERS] = &counter_p,
};
static const struct policy chain_p = POLICY(chain_k, chain_n);

static const unsigned char field_k[] = { [NFTA_SET_FIELD_LEN] = K_U32 };
static const struct policy field_p = POLICY(field_k, NULL);
static const unsigned char fields_k[] = { [NFTA_LIST_ELEM] = K_NEST };
static const struct policy *const fields_n[N(fields_k) + 1] = { [NFTA_LIST_ELEM] = &field_p };
static const struct policy fields_p = POLICY(fields_k, fields_n);
static const unsigned char desc_k[] = { [NFTA_SET_DESC_SIZE] = K_U32, [NFTA_SET_DESC_CONCAT] = K_NEST };
static const struct policy *const desc_n[N(desc_k) + 1] = { [NFTA_SET_DESC_CONCAT] = &fields_p };
static const struct policy desc_p = POLICY(desc_k, desc_n);
static const unsigned char set_k[] = {
	[NFTA_SET_TABLE] = K_STR, [NFTA_SET_NAME] = K_STR, [NFTA_SET_FLAGS] = K_U32,
	[NFTA_SET_KEY_TYPE] = K_U32, [NFTA_SET_KEY_LEN] = K_U32, [NFTA_SET_DATA_TYPE] = K_U32,
	[NFTA_SET_DATA_LEN] = K_U32, [NFTA_SET_POLICY] = K_U32, [NFTA_SET_DESC] = K_NEST,
	[NFTA_SET_ID] = K_U32, [NFTA_SET_TIMEOUT] = K_U64, [NFTA_SET_GC_INTERVAL] = K_U32,
	[NFTA_SET_USERDATA] = K_BIN, [NFTA_SET_OBJ_TYPE] = K_U32, [NFTA_SET_HANDLE] = K_U64,
	[NFTA_SET_EXPR] = K_EXPR, [NFTA_SET_EXPRESSIONS] = K_NEST,
};
static const struct policy *const set_n[N(set_k) + 1] = {
	[NFTA_SET_DESC] = &desc_p, [NFTA_SET_EXPRESSIONS] = &exprs_p,
};
static const struct policy set_p = POLICY(set_k, set_n);

static const unsigned char elem_k[] = {
	[NFTA_SET_ELEM_KEY] = K_DATA, [NFTA_SET_ELEM_DATA] = K_DATA, [NFTA_SET_ELEM_FLAGS] = K_U32,
	[NFTA_SET_ELEM_TIMEOUT] = K_U64, [NFTA_SET_ELEM_EXPIRATION] = K_U64,
	[NFTA_SET_ELEM_USERDATA] = K_BIN, [NFTA_SET_ELEM_EXPR] = K_EXPR,
	[NFTA_SET_ELEM_OBJREF] = K_STR, [NFTA_SET_ELEM_KEY_END] = K_DATA,
	[NFTA_SET_ELEM_EXPRESSIONS] = K_NEST,
};
static const struct policy *const elem_n[N(elem_k) + 1] = {
	[NFTA_SET_ELEM_EXPRESSIONS] = &exprs_p,
};
/* Strict: libnftnl 1.2.4 files a set element's attributes by type in an
 * array of NFTA_SET_ELEM_MAX + 1 but lets through every type up to
 * NFTA_SET_MAX (its callback checks the wrong bound): an element attribute of
 * type 12 to 18 writes past that array, on the stack. */
static const struct policy elem_p = { N(elem_k), elem_k, elem_n, true };
static const unsigned char elems_k[] = { [NFTA_LIST_ELEM] = K_NEST };
static const struct policy *const elems_n[N(elems_k) + 1] = { [NFTA_LIST_ELEM] = &elem_p };
static const struct policy elems_p = POLICY(elems_k, elems_n);
static const unsigned char elem_list_k[] = {
	[NFTA_SET_ELEM_LIST_TABLE] = K_STR, [NFTA_SET_ELEM_LIST_SET] = K_STR,
	[NFTA_SET_ELEM_LIST_ELEMENTS] = K_NEST, [NFTA_SET_ELEM_LIST_SET_ID] = K_U32,
};
static const struct policy *const elem_list_n[N(elem_list_k) + 1] = {
	[NFTA_SET_ELEM_LIST_ELEMENTS] = &elems_p,
};
static const struct policy elem_list_p = POLICY(elem_list_k, elem_list_n);

static const unsigned char compat_k[] = {
	[NFTA_RULE_COMPAT_PROTO] = K_U32, [NFTA_RULE_COMPAT_FLAGS] = K_U32,
};
static const struct policy compat_p = POLICY(compat_k, NULL);
static const unsigned char rule_k[] = {
	[NFTA_RULE_TABLE] = K_STR, [NFTA_RULE_CHAIN] = K_STR, [NFTA_RULE_HANDLE] = K_U64,
	[NFTA_RULE_EXPRESSIONS] = K_NEST, [NFTA_RULE_COMPAT] = K_NEST,
	[NFTA_RULE_POSITION] = K_U64, [NFTA_RULE_USERDATA] = K_BIN, [NFTA_RULE_ID] = K_U32,
	[NFTA_RULE_POSITION_ID] = K_U32, [NFTA_RULE_CHAIN_ID] = K_U32,
};
static const struct policy *const rule_n[N(rule_k) + 1] = {
	[NFTA_RULE_EXPRESSIONS] = &exprs_p, [NFTA_RULE_COMPAT] = &compat_p,
};
static const struct policy rule_p = POLICY(rule_k, rule_n);

#define MAX_DEPTH 8

static bool check(const void *p, size_t len, const struct policy *pol, int depth);

/* nft_data: one NFTA_DATA_VALUE of 1 to NFT_DATA_VALUE_MAXLEN bytes, or one
 * NFTA_DATA_VERDICT with its code (libnftnl leaves the data's type unset
 * when there is neither, and reads it). */
static bool check_data(const struct nlattr *nest, int depth)
{
	const struct nlattr *attr;
	int n = 0;

	if (mnl_attr_validate(nest, MNL_TYPE_NESTED) < 0)
		return false;
	mnl_attr_for_each_nested(attr, nest) {
		switch (mnl_attr_get_type(attr)) {
		case NFTA_DATA_VALUE:
			if (mnl_attr_get_payload_len(attr) == 0 ||
			    mnl_attr_get_payload_len(attr) > NFT_DATA_VALUE_MAXLEN)
				return false;
			n++;
			break;
		case NFTA_DATA_VERDICT: {
			const struct nlattr *v;
			bool code = false;

			if (mnl_attr_validate(attr, MNL_TYPE_NESTED) < 0 ||
			    !check(mnl_attr_get_payload(attr), mnl_attr_get_payload_len(attr),
				   &verdict_p, depth + 1))
				return false;
			mnl_attr_for_each_nested(v, attr)
				code |= mnl_attr_get_type(v) == NFTA_VERDICT_CODE;
			if (!code)
				return false;
			n++;
			break;
		}
		}
	}
	return n == 1;
}

/* One expression (NFTA_EXPR_NAME, NFTA_EXPR_DATA): a name we know, once;
 * its data against that expression's attributes. */
static bool check_expr(const struct nlattr *nest, int depth)
{
	const struct nlattr *attr, *data = NULL;
	const char *name = NULL;
	size_t i;

	if (mnl_attr_validate(nest, MNL_TYPE_NESTED) < 0)
		return false;
	mnl_attr_for_each_nested(attr, nest) {
		switch (mnl_attr_get_type(attr)) {
		case NFTA_EXPR_NAME:
			if (name || mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0)
				return false;
			name = mnl_attr_get_str(attr);
			break;
		case NFTA_EXPR_DATA:
			if (data || mnl_attr_validate(attr, MNL_TYPE_NESTED) < 0)
				return false;
			data = attr;
			break;
		}
	}
	if (!name)
		return false;
	for (i = 0; i < sizeof(exprs) / sizeof(exprs[0]); i++)
		if (strcmp(name, exprs[i].name) == 0)
			return !data || check(mnl_attr_get_payload(data), mnl_attr_get_payload_len(data),
					      &exprs[i].data, depth + 1);
	return false;
}

static bool check(const void *p, size_t len, const struct policy *pol, int depth)
{
	const struct nlattr *attr;

	if (depth > MAX_DEPTH)
		return false;
	mnl_attr_for_each_payload(p, len) {
		unsigned type = mnl_attr_get_type(attr);
		bool ok = true;

		if (type > pol->max && pol->strict)
			return false;
		if (type == 0 || type > pol->max)
			continue;
		switch (pol->kind[type]) {
		case K_NONE:
		case K_BIN:
			break;
		case K_U8:
			ok = mnl_attr_validate(attr, MNL_TYPE_U8) == 0;
			break;
		case K_U32:
			ok = mnl_attr_validate(attr, MNL_TYPE_U32) == 0;
			break;
		case K_U64:
			ok = mnl_attr_validate(attr, MNL_TYPE_U64) == 0;
			break;
		case K_STR:
			ok = mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0;
			break;
		case K_DATA:
			ok = check_data(attr, depth);
			break;
		case K_NEST:
			ok = mnl_attr_validate(attr, MNL_TYPE_NESTED) == 0 &&
			     (!pol->nest || !pol->nest[type] ||
			      check(mnl_attr_get_payload(attr), mnl_attr_get_payload_len(attr),
				    pol->nest[type], depth + 1));
			break;
		case K_EXPR:
			ok = check_expr(attr, depth);
			break;
		}
		if (!ok)
			return false;
	}
	return true;
}

bool nft_msg_ok(const struct nlmsghdr *nlh)
{
	const struct policy *pol;
	size_t off = sizeof(struct nfgenmsg);

	if (mnl_nlmsg_get_payload_len(nlh) < off)
		return false;
	switch (NFNL_MSG_TYPE(nlh->nlmsg_type)) {
	case NFT_MSG_NEWTABLE:
		pol = &table_p;
		break;
	case NFT_MSG_NEWCHAIN:
		pol = &chain_p;
		break;
	case NFT_MSG_NEWSET:
		pol = &set_p;
		break;
	case NFT_MSG_NEWSETELEM:
		pol = &elem_list_p;
		break;
	case NFT_MSG_NEWRULE:
		pol = &rule_p;
		break;
	default:
		return false;
	}
	return check((const char *)mnl_nlmsg_get_payload(nlh) + off,
		     mnl_nlmsg_get_payload_len(nlh) - off, pol, 0);
}
