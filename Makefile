# gatewayctl - site-to-site IPIP gateways from one INI file per site
# The version lives in debian/changelog only (its first entry, without the Debian
# revision): the binary (--version, the metrics' build_info) and the man pages'
# .TH line (filled in by make install) take it from there.
VERSION    := $(shell sed -n '1{s/^[^(]*(\([^)]*\)).*/\1/;s/-[^-]*$$//;p;}' debian/changelog)
PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UNITDIR    ?= /lib/systemd/system
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
UNITS      := gatewayctl@.service gatewayctl-watch@.service gatewayctl-metrics.service gatewayctl-metrics.timer
DESTDIR    ?=

CC       ?= cc
PKGS     := libmnl libnftnl libcrypto libcares
# libcrypto's headers only: it is loaded on first use (src/crypto.c), not linked
LINK_PKGS := libmnl libnftnl libcares
CFLAGS   ?= -O2 -g
WERROR   ?=
# hardened like Debian's packages (dpkg-buildflags with hardening=+all)
HARDEN_CFLAGS  := -D_FORTIFY_SOURCE=3 -fstack-protector-strong -fstack-clash-protection \
	-fcf-protection -fPIE -Wformat -Wformat-security
HARDEN_LDFLAGS := -pie -Wl,-z,relro -Wl,-z,now
override CFLAGS += -std=gnu11 -Wall -Wextra $(WERROR) $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS   += $(shell pkg-config --libs $(LINK_PKGS) 2>/dev/null) -liniparser
# Each object's header dependencies come from the compiler (-MMD -MP, the .d files
# beside the objects). netlink/ sees only its own headers: it knows nothing of
# src/, and an include of src/ there is a build error. The files of src/ that
# print the version get it (and are rebuilt when debian/changelog changes).
DEPFLAGS := -MMD -MP
VERSION_DEF := -DGATEWAYCTL_VERSION='"$(VERSION)"'
VERSION_USERS := $(shell grep -l GATEWAYCTL_VERSION src/*.c)
INC_netlink := -Inetlink
INC_src  := -Isrc -Inetlink
# the include (and version) flags of the source file $<
INC       = $(if $(filter netlink/%,$<),$(INC_netlink),$(INC_src) $(if $(filter $(VERSION_USERS),$<),$(VERSION_DEF)))

LIB_SRC  := $(filter-out src/main.c,$(wildcard src/*.c)) $(wildcard netlink/*.c)
LIB_OBJ  := $(LIB_SRC:.c=.o)

all: gatewayctl

gatewayctl: src/main.o $(LIB_OBJ)
	$(CC) $(CFLAGS) $(HARDEN_CFLAGS) $(HARDEN_LDFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

%.o: %.c
	$(CC) $(CFLAGS) $(INC) $(DEPFLAGS) $(HARDEN_CFLAGS) -c -o $@ $<


# --- tests: a separate build with AddressSanitizer and UBSan ---------------
SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
TB        := build/test
TEST_SRC  := $(wildcard tests/unit/test_*.c)
TEST_BIN  := $(patsubst tests/unit/%.c,$(TB)/%,$(TEST_SRC))
SAN_OBJ   := $(patsubst %.c,$(TB)/%.o,$(LIB_SRC))

$(TB)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(INC) $(DEPFLAGS) $(SAN_FLAGS) -c -o $@ $<

$(TB)/gatewayctl: $(TB)/src/main.o $(SAN_OBJ)
	$(CC) $(CFLAGS) $(SAN_FLAGS) -o $@ $^ $(LDLIBS)

$(TB)/test_%: tests/unit/test_%.c $(SAN_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(INC_src) $(DEPFLAGS) -MF $@.d $(SAN_FLAGS) -o $@ $< $(SAN_OBJ) $(LDLIBS) -lcmocka -lcrypto

test-build: $(TB)/gatewayctl $(TEST_BIN)

# --- fuzzing: libFuzzer targets tests/fuzz/fuzz_*.c (tests/fuzz/run.sh) ----
FUZZ_CC    := $(shell command -v clang-14 || command -v clang)
FUZZ_FLAGS := -std=gnu11 -g -O1 -Wall -Wextra -Werror -fno-sanitize-recover=all \
	$(shell pkg-config --cflags $(PKGS) 2>/dev/null)
FB         := build/fuzz
FUZZ_SRC   := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN   := $(patsubst tests/fuzz/%.c,$(FB)/%,$(FUZZ_SRC))
FUZZ_OBJ   := $(patsubst %.c,$(FB)/obj/%.o,$(LIB_SRC))

$(FB)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(INC) $(DEPFLAGS) -fsanitize=fuzzer-no-link,address,undefined -c -o $@ $<

$(FB)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJ)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(INC_src) $(DEPFLAGS) -MF $@.d -fsanitize=fuzzer,address,undefined -o $@ $< $(FUZZ_OBJ) $(LDLIBS)

fuzz-build: $(FUZZ_BIN)

# a new version in debian/changelog rebuilds what prints it
$(foreach d,. $(TB) $(FB)/obj,$(patsubst %.c,$(d)/%.o,$(VERSION_USERS))): debian/changelog

# make fuzz SECONDS=600 [TARGETS="site frame"]: every target for longer
SECONDS ?= 300
fuzz: deps
	tests/fuzz/run.sh $(SECONDS) $(TARGETS)

# --- static analysis: gcc -fanalyzer and cppcheck, findings are errors ------
ANALYZE_SRC := $(wildcard src/*.c netlink/*.c)
analyze:
	@for f in $(ANALYZE_SRC); do \
		case $$f in netlink/*) inc="$(INC_netlink)" ;; *) inc="$(INC_src)" ;; esac; \
		$(CC) -std=gnu11 -O1 -fanalyzer -Wall -Wextra -Werror $$inc $(VERSION_DEF) \
			$(shell pkg-config --cflags $(PKGS) 2>/dev/null) \
			-c -o /dev/null $$f || exit 1; \
	done
	cppcheck --std=c11 --enable=warning,portability,performance --inline-suppr --error-exitcode=1 -q \
		-Isrc -Inetlink -D__linux__ $(VERSION_DEF) \
		--suppress=missingIncludeSystem src netlink
	@echo "analyze: gcc -fanalyzer and cppcheck found nothing"

# make check: every suite; the last line is "N passed, N failed, N skipped".
# the build uses every core (a fresh clone's build, about three minutes, ran on one of two)
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
check: deps
	$(MAKE) -j$(JOBS) WERROR=-Werror test-build gatewayctl
	tests/run-all

# make unit (or check-quick): the quick suites, no root and no VM, under two
# minutes: unit tests, the corpus of bad site files, the cross-site checks, the
# build's own checks (tests/build.sh), the command line (tests/cli.sh), the examples in the docs
unit check-quick:
	$(MAKE) -j$(JOBS) WERROR=-Werror test-build gatewayctl
	tests/run-all unit corpus crosscheck cli examples build

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
	sed 's/@VERSION@/$(VERSION)/' docs/gatewayctl.8 >$(DESTDIR)$(MANDIR)/man8/gatewayctl.8
	sed 's/@VERSION@/$(VERSION)/' docs/gatewayctl.ini.5 >$(DESTDIR)$(MANDIR)/man5/gatewayctl.ini.5
	chmod 0644 $(DESTDIR)$(MANDIR)/man8/gatewayctl.8 $(DESTDIR)$(MANDIR)/man5/gatewayctl.ini.5
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
	rm -rf gatewayctl src/*.o netlink/*.o src/*.d netlink/*.d build

# the compiler's header dependencies (see DEPFLAGS)
-include $(wildcard src/*.d netlink/*.d $(TB)/*.d $(TB)/src/*.d $(TB)/netlink/*.d \
	$(FB)/*.d $(FB)/obj/src/*.d $(FB)/obj/netlink/*.d)

.PHONY: all check unit check-quick demo deps bench install uninstall clean test-build fuzz fuzz-build analyze deb
