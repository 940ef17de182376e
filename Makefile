# gatewayctl - site-to-site IPIP gateways from one INI file per site
VERSION    := 0.1.0
PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UNITDIR    ?= /lib/systemd/system
DESTDIR    ?=

CC       ?= cc
PKGS     := libmnl libnftnl libcrypto
CFLAGS   ?= -O2 -g
WERROR   ?=
override CFLAGS += -std=gnu11 -Wall -Wextra $(WERROR) -Isrc -Inetlink \
	-DGATEWAYCTL_VERSION='"$(VERSION)"' $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS   += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -liniparser

LIB_SRC  := $(filter-out src/main.c,$(wildcard src/*.c)) $(wildcard netlink/*.c)
LIB_OBJ  := $(LIB_SRC:.c=.o)
HDRS     := $(wildcard src/*.h netlink/*.h)

all: gatewayctl

gatewayctl: src/main.o $(LIB_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

%.o: %.c $(HDRS)
	$(CC) $(CFLAGS) -c -o $@ $<

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
		$(DESTDIR)$(UNITDIR)
	install -m 0755 gatewayctl $(DESTDIR)$(SBINDIR)/gatewayctl
	install -m 0644 docs/gatewayctl.8 $(DESTDIR)$(MANDIR)/man8/gatewayctl.8
	install -m 0644 docs/gatewayctl.ini.5 $(DESTDIR)$(MANDIR)/man5/gatewayctl.ini.5
	install -m 0644 templates/gatewayctl.conf $(DESTDIR)$(SYSCONFDIR)/iproute2/rt_protos.d/gatewayctl.conf
	sed 's|@SBINDIR@|$(SBINDIR)|g' templates/gatewayctl@.service > $(DESTDIR)$(UNITDIR)/gatewayctl@.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/gatewayctl@.service
	install -m 0644 templates/site.ini.example $(DESTDIR)$(SYSCONFDIR)/gatewayctl/site.ini.example

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/gatewayctl $(DESTDIR)$(MANDIR)/man8/gatewayctl.8 \
		$(DESTDIR)$(MANDIR)/man5/gatewayctl.ini.5 \
		$(DESTDIR)$(SYSCONFDIR)/iproute2/rt_protos.d/gatewayctl.conf \
		$(DESTDIR)$(UNITDIR)/gatewayctl@.service \
		$(DESTDIR)$(SYSCONFDIR)/gatewayctl/site.ini.example

clean:
	rm -rf gatewayctl src/*.o netlink/*.o build

.PHONY: all check demo deps bench install uninstall clean test-build
