# gatewayctl - site-to-site IPIP gateways from one INI file per site
VERSION    := 0.1.0
PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UNITDIR    ?= /lib/systemd/system
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
UNITS      := gatewayctl@.service gatewayctl-metrics.service gatewayctl-metrics.timer
DESTDIR    ?=

CC       ?= cc
PKGS     := libmnl libnftnl libcrypto
CFLAGS   ?= -O2 -g
WERROR   ?=
# hardened like Debian's packages (dpkg-buildflags with hardening=+all)
HARDEN_CFLAGS  := -D_FORTIFY_SOURCE=3 -fstack-protector-strong -fstack-clash-protection \
	-fcf-protection -fPIE -Wformat -Wformat-security
HARDEN_LDFLAGS := -pie -Wl,-z,relro -Wl,-z,now
override CFLAGS += -std=gnu11 -Wall -Wextra $(WERROR) -Isrc -Inetlink \
	-DGATEWAYCTL_VERSION='"$(VERSION)"' $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS   += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -liniparser

LIB_SRC  := $(filter-out src/main.c,$(wildcard src/*.c)) $(wildcard netlink/*.c)
LIB_OBJ  := $(LIB_SRC:.c=.o)
HDRS     := $(wildcard src/*.h netlink/*.h)

all: gatewayctl

gatewayctl: src/main.o $(LIB_OBJ)
	$(CC) $(CFLAGS) $(HARDEN_CFLAGS) $(HARDEN_LDFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

%.o: %.c $(HDRS)
	$(CC) $(CFLAGS) $(HARDEN_CFLAGS) -c -o $@ $<

# --- tests: a separate build with AddressSanitizer and UBSan ---------------
SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
TB        := build/test
TEST_SRC  := $(wildcard tests/unit/test_*.c)
TEST_BIN  := $(patsubst tests/unit/%.c,$(TB)/%,$(TEST_SRC))
SAN_OBJ   := $(patsubst %.c,$(TB)/%.o,$(LIB_SRC))

$(TB)/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN_FLAGS) -c -o $@ $<

$(TB)/gatewayctl: $(TB)/src/main.o $(SAN_OBJ)
	$(CC) $(CFLAGS) $(SAN_FLAGS) -o $@ $^ $(LDLIBS)

$(TB)/test_%: tests/unit/test_%.c $(SAN_OBJ) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN_FLAGS) -o $@ $< $(SAN_OBJ) $(LDLIBS) -lcmocka

test-build: $(TB)/gatewayctl $(TEST_BIN)

# --- fuzzing: libFuzzer targets tests/fuzz/fuzz_*.c (tests/fuzz/run.sh) ----
FUZZ_CC    := $(shell command -v clang-14 || command -v clang)
FUZZ_FLAGS := -std=gnu11 -g -O1 -Wall -Wextra -Werror -fno-sanitize-recover=all -Isrc -Inetlink \
	-DGATEWAYCTL_VERSION='"$(VERSION)"' $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
FB         := build/fuzz
FUZZ_SRC   := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN   := $(patsubst tests/fuzz/%.c,$(FB)/%,$(FUZZ_SRC))
FUZZ_OBJ   := $(patsubst %.c,$(FB)/obj/%.o,$(LIB_SRC))

$(FB)/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link,address,undefined -c -o $@ $<

$(FB)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJ) $(HDRS)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer,address,undefined -o $@ $< $(FUZZ_OBJ) $(LDLIBS)

fuzz-build: $(FUZZ_BIN)

# make fuzz SECONDS=600 [TARGETS="site frame"]: every target for longer
SECONDS ?= 300
fuzz: deps
	tests/fuzz/run.sh $(SECONDS) $(TARGETS)

# --- static analysis: gcc -fanalyzer and cppcheck, findings are errors ------
ANALYZE_SRC := $(wildcard src/*.c netlink/*.c)
analyze:
	@for f in $(ANALYZE_SRC); do \
		$(CC) -std=gnu11 -O1 -fanalyzer -Wall -Wextra -Werror -Isrc -Inetlink \
			-DGATEWAYCTL_VERSION='"$(VERSION)"' $(shell pkg-config --cflags $(PKGS) 2>/dev/null) \
			-c -o /dev/null $$f || exit 1; \
	done
	cppcheck --std=c11 --enable=warning,portability,performance --inline-suppr --error-exitcode=1 -q \
		-Isrc -Inetlink -D__linux__ -DGATEWAYCTL_VERSION='"$(VERSION)"' \
		--suppress=missingIncludeSystem src netlink
	@echo "analyze: gcc -fanalyzer and cppcheck found nothing"

# make check: every suite; the last line is "N passed, N failed, N skipped".
check: deps
	$(MAKE) WERROR=-Werror test-build gatewayctl
	tests/run-all

demo: deps
	$(MAKE) gatewayctl
	tests/lab/demo

deps:
	@tests/deps.sh

bench: deps gatewayctl
	bench/run

install: gatewayctl
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(SYSCONFDIR)/gatewayctl $(DESTDIR)$(SYSCONFDIR)/iproute2/rt_protos.d \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(BASHCOMPDIR)
	install -m 0755 gatewayctl $(DESTDIR)$(SBINDIR)/gatewayctl
	install -m 0644 docs/gatewayctl.8 $(DESTDIR)$(MANDIR)/man8/gatewayctl.8
	install -m 0644 docs/gatewayctl.ini.5 $(DESTDIR)$(MANDIR)/man5/gatewayctl.ini.5
	install -m 0644 templates/gatewayctl.conf $(DESTDIR)$(SYSCONFDIR)/iproute2/rt_protos.d/gatewayctl.conf
	for u in $(UNITS); do sed 's|@SBINDIR@|$(SBINDIR)|g' templates/$$u > $(DESTDIR)$(UNITDIR)/$$u && \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$$u || exit 1; done
	install -m 0644 contrib/completion/gatewayctl.bash $(DESTDIR)$(BASHCOMPDIR)/gatewayctl
	install -m 0644 templates/site.ini.example $(DESTDIR)$(SYSCONFDIR)/gatewayctl/site.ini.example

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/gatewayctl $(DESTDIR)$(MANDIR)/man8/gatewayctl.8 \
		$(DESTDIR)$(MANDIR)/man5/gatewayctl.ini.5 \
		$(DESTDIR)$(SYSCONFDIR)/iproute2/rt_protos.d/gatewayctl.conf \
		$(addprefix $(DESTDIR)$(UNITDIR)/,$(UNITS)) $(DESTDIR)$(BASHCOMPDIR)/gatewayctl \
		$(DESTDIR)$(SYSCONFDIR)/gatewayctl/site.ini.example

# make deb: the Debian package (debian/), built from a copy of the tree in
# build/deb/src, so the package lands in build/deb/ and the tree stays as it is
deb:
	rm -rf build/deb && mkdir -p build/deb/src
	cp -a Makefile README.md src netlink docs templates contrib debian build/deb/src/
	cd build/deb/src && dpkg-buildpackage -us -uc -b
	@ls build/deb/*.deb

clean:
	rm -rf gatewayctl src/*.o netlink/*.o build

.PHONY: all check demo deps bench install uninstall clean test-build fuzz fuzz-build analyze deb
