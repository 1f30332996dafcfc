/*
 * fuzz_csv — the CSV readers (SPEC §5): every input is read as a FLO customer
 * file and as an Online Retail file, through reader_read_file, the entry
 * point rfmctl and rfm-replay use.
 *
 * Why this shape:
 *  - reader_read_file only takes a path (it reads through zlib, which also
 *    inflates gzip input, and that path is worth fuzzing too), so the input
 *    goes into a memory-backed file;
 *  - both formats on every input: a header that is not the format's is
 *    refused after one record, so the cost is small, and each reader sees
 *    the other's seeds;
 *  - the parity of the input length picks whether retail cancellations are
 *    refunds, so both rules get fuzzed while corpus files stay plain CSV;
 *  - the readers print bad lines to stderr, which libFuzzer would flood its
 *    log with: `stderr` is pointed at /dev/null during the call. libFuzzer
 *    and the sanitizers keep reporting to the real standard error (they hold
 *    their own handle on it, not this variable);
 *  - a FLO row may expand into up to two million orders, which is the format
 *    working as designed but makes a few rows take seconds: the sink stops
 *    reading after ORDER_BUDGET orders, so time goes into more inputs
 *    rather than into counting;
 *  - each format is read twice: with the memchr path for quote-free lines
 *    and the default block, then with every byte through the CSV state
 *    machine and a block of 1..16 bytes (picked from the first byte), and
 *    the two must agree on the return code, the counts and a hash of every
 *    order in order: a differential check of the fast scanner (issue 16);
 *  - every emitted order is checked against what the engine requires
 *    (order_apply refuses anything else), and its bytes are read so that
 *    AddressSanitizer sees a string pointing at freed or foreign memory.
 */
#include <string.h>

#include "fuzz.h"
#include "rfm/money.h"
#include "rfm/order.h"
#include "rfm/reader.h"

#define ORDER_BUDGET 100000

typedef struct sink {
    uint64_t orders;
    unsigned sum;  /* bytes read, so the reads are not optimized away */
    uint64_t hash; /* every field of every order, in emission order */
} sink;

static uint64_t mix(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

static unsigned touch(order_str s) {
    unsigned h = 0;
    for (size_t i = 0; i < s.len; i++)
        h = h * 31 + (unsigned char)s.p[i];
    return h;
}

static int emit(void *ctx, const order *o) {
    sink *k = ctx;
    FUZZ_CHECK(o->customer_id.len >= 1 && o->customer_id.len <= STORE_KEY_MAX);
    FUZZ_CHECK(o->order_id.len >= 1 && o->order_id.len <= ORDER_ID_MAX);
    FUZZ_CHECK(o->ts >= ORDER_TS_MIN && o->ts <= ORDER_TS_MAX);
    FUZZ_CHECK(o->amount_cents >= -MONEY_MAX_CENTS && o->amount_cents <= MONEY_MAX_CENTS);
    FUZZ_CHECK(o->ncategories <= ORDER_MAX_CATEGORIES);
    FUZZ_CHECK(o->channel.len == 0 || o->channel.p);
    k->sum += touch(o->customer_id) + touch(o->order_id) + touch(o->channel);
    k->hash = mix(k->hash, &o->customer_id.len, sizeof o->customer_id.len);
    k->hash = mix(k->hash, o->customer_id.p, o->customer_id.len);
    k->hash = mix(k->hash, &o->order_id.len, sizeof o->order_id.len);
    k->hash = mix(k->hash, o->order_id.p, o->order_id.len);
    k->hash = mix(k->hash, &o->ts, sizeof o->ts);
    k->hash = mix(k->hash, &o->amount_cents, sizeof o->amount_cents);
    for (size_t i = 0; i < o->ncategories; i++)
        k->sum += touch(o->categories[i]);
    return ++k->orders >= ORDER_BUDGET;
}

/* One read of path; the sink and the stats out, the return code returned. */
static int read_once(const char *path, const reader_options *opt, sink *k, reader_stats *st) {
    char err[512] = "";
    memset(k, 0, sizeof *k);
    k->hash = 0xcbf29ce484222325ULL;
    int rc = reader_read_file(path, opt, emit, k, st, err, sizeof err);
    FUZZ_CHECK(rc == 0 || err[0]);
    FUZZ_CHECK(st->orders == k->orders);
    return rc;
}

static void read_as(const char *path, reader_format format, bool refunds, size_t block) {
    reader_options fast = {.format = format, .cancellations_as_refunds = refunds};
    reader_options slow = fast;
    slow.csv_bytewise = true;
    slow.block_size = block;
    reader_stats st, st2;
    sink k, k2;
    int rc = read_once(path, &fast, &k, &st);
    int rc2 = read_once(path, &slow, &k2, &st2);
    FUZZ_CHECK(rc == rc2);
    FUZZ_CHECK(k.orders == k2.orders && k.hash == k2.hash);
    FUZZ_CHECK(memcmp(&st, &st2, sizeof st) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static FILE *devnull;
    if (!devnull && !(devnull = fopen("/dev/null", "w"))) {
        perror("/dev/null");
        abort();
    }
    const char *path = fuzz_file(0, data, size);
    FILE *saved = stderr;
    stderr = devnull;
    size_t block = size ? 1 + data[0] % 16 : 1;
    read_as(path, READER_FLO, false, block);
    read_as(path, READER_RETAIL, size % 2 == 1, block);
    stderr = saved;
    return 0;
}
