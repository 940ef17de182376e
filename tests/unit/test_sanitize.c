/* test_sanitize.c - src/sanitize.c, and the relay's stats file as status and
 * metrics read it: a peer name with control bytes or invalid UTF-8 comes out
 * printable, valid UTF-8 untouched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "relay.h"
#include "relay_priv.h"
#include "sanitize.h"

static void check(const char *in, const char *want, size_t replaced)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%s", in);
	assert_int_equal(sanitize_text(buf), replaced);
	assert_string_equal(buf, want);
}

static void test_plain(void **state)
{
	(void)state;
	check("brooklyn", "brooklyn", 0);
	check("", "", 0);
	check("queens-2", "queens-2", 0);
}

static void test_controls(void **state)
{
	(void)state;
	check("a\033[2Jb", "a?[2Jb", 1);		/* ESC: a terminal escape */
	check("a\nb\rc\td", "a?b?c?d", 3);
	check("x\177y", "x?y", 1);			/* DEL */
	check("x\302\233y", "x??y", 2);			/* U+009B, CSI in C1 */
	check("x\302\205y", "x??y", 2);			/* U+0085, NEL */
}

static void test_utf8(void **state)
{
	(void)state;
	check("caf\303\251", "caf\303\251", 0);		/* é */
	check("\342\202\254", "\342\202\254", 0);	/* € */
	check("\360\237\230\200", "\360\237\230\200", 0);	/* U+1F600 */
	check("\302\240", "\302\240", 0);		/* U+00A0: not a control */
	check("a\377b", "a?b", 1);			/* never valid */
	check("a\200b", "a?b", 1);			/* a lone continuation byte */
	check("a\303", "a?", 1);			/* cut short at the end */
	check("a\303b", "a?b", 1);			/* cut short in the middle */
	check("\300\257", "??", 2);			/* overlong '/' */
	check("\340\200\257", "???", 3);		/* overlong, three bytes */
	check("\355\240\200", "???", 3);		/* a surrogate, U+D800 */
	check("\364\220\200\200", "????", 4);		/* above U+10FFFF */
	check("\370\210\200\200\200", "?????", 5);	/* five-byte form */
}

/* a stats file as the relay writes it, one peer named NAME */
static void test_stats_file(void **state)
{
	size_t size = sizeof(struct rs_header) + sizeof(struct rs_peer) + 8 * DROP_REASONS;
	uint8_t *buf = calloc(1, size);
	struct rs_header h = {
		.magic = RELAY_STATS_MAGIC, .version = RELAY_STATS_VERSION,
		.header_size = sizeof(struct rs_header), .n_ports = 0, .n_peers = 1,
		.n_reasons = DROP_REASONS, .port_size = sizeof(struct rs_port),
		.peer_size = sizeof(struct rs_peer), .pid = 1,
	};
	struct rs_peer p = { .sent = 7 };
	struct relay_stats st;

	(void)state;
	assert_non_null(buf);
	memcpy(p.name, "evil\033]0;owned\007\377", 16);
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), &p, sizeof(p));
	assert_int_equal(relay_parse_stats(buf, size, &st), 0);
	assert_int_equal(st.n_peers, 1);
	assert_string_equal(st.peers[0].name, "evil?]0;owned??");
	assert_int_equal(st.peers[0].sent, 7);
	relay_stats_free(&st);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_controls),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_stats_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
