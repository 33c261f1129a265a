# Makefile: builds pg_callcenter.so (backend code + the three background
# workers) and assembles the extension script from src/schema/*.sql in name
# order.  Uses PGXS; `make installcheck` runs pg_regress on a temporary
# instance with the library preloaded (see test/regress.conf).

EXTENSION   = pg_callcenter
EXTVERSION  = 0.1
MODULE_big  = pg_callcenter

SRC_OBJS     = $(patsubst %.c,%.o,$(wildcard src/*.c))
SIP_OBJS     = $(patsubst %.c,%.o,$(wildcard workers/sip/*.c))
MEDIA_OBJS   = $(patsubst %.c,%.o,$(wildcard workers/media/*.c))
HTTP_OBJS    = $(patsubst %.c,%.o,$(wildcard workers/http/*.c))
OBJS         = $(SRC_OBJS) $(SIP_OBJS) $(MEDIA_OBJS) $(HTTP_OBJS)

SCHEMA_FILES = $(sort $(wildcard src/schema/*.sql))
DATA_built   = $(EXTENSION)--$(EXTVERSION).sql
EXTRA_CLEAN  = $(EXTENSION)--$(EXTVERSION).sql tmp_check_iso output_iso .deps

PG_CONFIG   ?= pg_config
SOFIA_CFLAGS := $(shell pkg-config --cflags sofia-sip-ua)
SOFIA_LIBS   := $(shell pkg-config --libs sofia-sip-ua)

PG_CPPFLAGS = -I$(srcdir)/src -I$(srcdir)/workers $(SOFIA_CFLAGS) -I$(shell $(PG_CONFIG) --includedir)
PG_CFLAGS   = -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare
# Every library the workers use is linked into the one module, even where the
# foundation does not call it yet (--no-as-needed keeps them in NEEDED).
SHLIB_LINK  = -Wl,--no-as-needed $(SOFIA_LIBS) -lspandsp -lcurl -lcrypto \
              -lflite_cmu_us_slt -lflite_usenglish -lflite_cmulex -lflite \
              -L$(shell $(PG_CONFIG) --libdir) -lpq -lm -Wl,--as-needed

# pg_regress: a temporary instance with the library preloaded.
REGRESS      = $(basename $(notdir $(sort $(wildcard sql/*.sql))))
REGRESS_OPTS = --temp-instance=$(CURDIR)/tmp_check --temp-config=$(srcdir)/test/regress.conf

# Isolation specs (races): test/isolation/specs, run by installcheck too.
ISOLATION      = $(basename $(notdir $(sort $(wildcard test/isolation/specs/*.spec))))
ISOLATION_OPTS = --inputdir=$(srcdir)/test/isolation --temp-instance=$(CURDIR)/tmp_check_iso --temp-config=$(srcdir)/test/isolation.conf

# Rebuild an object when a header it includes changes (PGXS's dependency
# tracking, off unless PostgreSQL was configured with --enable-depend).
override autodepend = yes

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

$(EXTENSION)--$(EXTVERSION).sql: $(SCHEMA_FILES)
	cat $^ > $@
