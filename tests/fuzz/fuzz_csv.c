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
    unsigned sum; /* bytes read, so the reads are not optimized away */
} sink;

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
    for (size_t i = 0; i < o->ncategories; i++)
        k->sum += touch(o->categories[i]);
    return ++k->orders >= ORDER_BUDGET;
}

static void read_as(const char *path, reader_format format, bool refunds) {
    reader_options opt = {.format = format, .cancellations_as_refunds = refunds};
    reader_stats st;
    sink k = {0};
    char err[512] = "";
    int rc = reader_read_file(path, &opt, emit, &k, &st, err, sizeof err);
    FUZZ_CHECK(rc == 0 || err[0]);
    FUZZ_CHECK(st.orders == k.orders);
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
    read_as(path, READER_FLO, false);
    read_as(path, READER_RETAIL, size % 2 == 1);
    stderr = saved;
    return 0;
}
