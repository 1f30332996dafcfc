/*
 * segment — RF-pattern rules compiled into a lookup table.
 *
 * The seeds apply their map with pandas `replace(regex=True)`, pattern after
 * pattern, on the two-character RF string; once a pattern has replaced the
 * code with a name no later (digit-only) pattern can match, so the first
 * matching rule wins. We get the same result without strings at scoring time:
 * each rule, as it is added, claims the (r, f) cells that no earlier rule
 * claimed. Scoring is then one table load.
 *
 * The pattern language is deliberately the tiny subset the seeds use (a digit
 * or a bracketed class per position) so that a typo is an error with a
 * position, not a regex that silently matches nothing.
 */
#include "rfm/segment.h"

#include "util/errbuf.h"
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

void segment_map_init(segment_map *m, int bins) {
    memset(m, 0, sizeof *m);
    m->bins = bins;
    snprintf(m->names[0], sizeof m->names[0], "%s", SEGMENT_UNMATCHED_NAME);
}

/* One pattern position: a digit or a [..] class. Sets bits 1..9 of *set and
 * advances *pp. Returns 0, or -1 with a message. */
static int parse_position(const char *pat, const char **pp, int bins, int which, uint16_t *set,
                          char *err, size_t errlen) {
    const char *p = *pp;
    static const char *const pos_name[] = {"R (first)", "F (second)"};
    *set = 0;
    if (*p >= '0' && *p <= '9') {
        int d = *p - '0';
        if (d < 1 || d > bins) {
            errbuf_set(err, errlen, "segment pattern '%s': %s score %d is outside 1..%d", pat,
                       pos_name[which], d, bins);
            return -1;
        }
        *set = (uint16_t)(1u << d);
        *pp = p + 1;
        return 0;
    }
    if (*p != '[') {
        if (!*p)
            errbuf_set(err, errlen,
                       "segment pattern '%s': missing the %s position (a pattern is two positions, "
                       "e.g. \"[1-2]5\")",
                       pat, pos_name[which]);
        else
            errbuf_set(err, errlen,
                       "segment pattern '%s': unexpected '%c' at offset %d (expected a digit or "
                       "a class like [1-2])",
                       pat, *p, (int)(p - pat));
        return -1;
    }
    p++;
    while (*p && *p != ']') {
        if (*p < '0' || *p > '9') {
            errbuf_set(err, errlen,
                       "segment pattern '%s': unexpected '%c' at offset %d inside a class "
                       "(only digits and ranges like 1-2)",
                       pat, *p, (int)(p - pat));
            return -1;
        }
        int lo = *p - '0', hi = lo;
        if (p[1] == '-') {
            if (p[2] < '0' || p[2] > '9') {
                errbuf_set(err, errlen, "segment pattern '%s': incomplete range at offset %d", pat,
                           (int)(p - pat));
                return -1;
            }
            hi = p[2] - '0';
            if (hi < lo) {
                errbuf_set(err, errlen, "segment pattern '%s': range %d-%d is reversed", pat, lo,
                           hi);
                return -1;
            }
            p += 2;
        }
        if (lo < 1 || hi > bins) {
            errbuf_set(err, errlen, "segment pattern '%s': %s score %d is outside 1..%d", pat,
                       pos_name[which], lo < 1 ? lo : hi, bins);
            return -1;
        }
        for (int d = lo; d <= hi; d++)
            *set |= (uint16_t)(1u << d);
        p++;
    }
    if (*p != ']') {
        errbuf_set(err, errlen, "segment pattern '%s': unclosed '['", pat);
        return -1;
    }
    if (!*set) {
        errbuf_set(err, errlen, "segment pattern '%s': empty class []", pat);
        return -1;
    }
    *pp = p + 1;
    return 0;
}

static int check_name(const char *name, char *err, size_t errlen) {
    size_t len = strlen(name);
    if (!len || len > SEGMENT_NAME_MAX) {
        errbuf_set(err, errlen, "segment name '%s' must be 1..%d characters", name,
                   SEGMENT_NAME_MAX);
        return -1;
    }
    if (!strcmp(name, SEGMENT_UNMATCHED_NAME)) {
        errbuf_set(err, errlen,
                   "segment name '%s' is reserved for customers no rule matches; choose another",
                   name);
        return -1;
    }
    /* Names are printed raw in the CSV table and logs. */
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if (*p < 0x20 || *p == 0x7f || *p == ',' || *p == '"') {
            errbuf_set(err, errlen,
                       "segment name '%s' contains a control character, comma or quote", name);
            return -1;
        }
    }
    return 0;
}

int segment_map_add(segment_map *m, const char *pattern, const char *name, char *err,
                    size_t errlen) {
    if (!pattern || !name) {
        errbuf_set(err, errlen, "segment rule needs both a pattern and a name");
        return -1;
    }
    if (m->bins < 2 || m->bins > SEGMENT_BINS_MAX) {
        errbuf_set(err, errlen, "segment map: bins %d is outside 2..%d", m->bins, SEGMENT_BINS_MAX);
        return -1;
    }
    if (m->nrules >= SEGMENT_MAX) {
        errbuf_set(err, errlen, "too many segment rules (at most %d)", SEGMENT_MAX);
        return -1;
    }
    if (strlen(pattern) >= sizeof m->rules[0].pattern) {
        errbuf_set(err, errlen, "segment pattern '%.40s...' is too long", pattern);
        return -1;
    }
    if (check_name(name, err, errlen))
        return -1;
    const char *p = pattern;
    uint16_t rset, fset;
    if (parse_position(pattern, &p, m->bins, 0, &rset, err, errlen) ||
        parse_position(pattern, &p, m->bins, 1, &fset, err, errlen))
        return -1;
    if (*p) {
        errbuf_set(
            err, errlen,
            "segment pattern '%s': trailing '%s' (a pattern is exactly two positions, R then "
            "F)",
            pattern, p);
        return -1;
    }

    int seg = segment_find(m, name);
    if (seg <= 0) {
        if (m->nsegments >= SEGMENT_MAX) {
            errbuf_set(err, errlen, "too many segment names (at most %d)", SEGMENT_MAX);
            return -1;
        }
        seg = ++m->nsegments;
        snprintf(m->names[seg], sizeof m->names[seg], "%s", name);
    }
    snprintf(m->rules[m->nrules].pattern, sizeof m->rules[0].pattern, "%s", pattern);
    m->rules[m->nrules].segment = (uint8_t)seg;
    m->nrules++;
    for (int r = 1; r <= m->bins; r++)
        for (int f = 1; f <= m->bins; f++)
            if ((rset >> r & 1) && (fset >> f & 1) && !m->table[r][f])
                m->table[r][f] = (uint8_t)seg;
    return 0;
}

void segment_map_default(segment_map *m, int bins) {
    static const char *const rules[][2] = {
        {"[1-2][1-2]", "hibernating"},
        {"[1-2][3-4]", "at_risk"},
        {"[1-2]5", "cant_loose"},
        {"3[1-2]", "about_to_sleep"},
        {"33", "need_attention"},
        {"[3-4][4-5]", "loyal_customers"},
        {"41", "promising"},
        {"51", "new_customers"},
        {"[4-5][2-3]", "potential_loyalists"},
        {"5[4-5]", "champions"},
    };
    segment_map_init(m, bins);
    if (bins != 5)
        return;
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
        segment_map_add(m, rules[i][0], rules[i][1], NULL, 0); /* constant: cannot fail */
}

uint8_t segment_of(const segment_map *m, int r, int f) {
    if (r < 1 || f < 1 || r > m->bins || f > m->bins || m->bins > SEGMENT_BINS_MAX)
        return 0;
    return m->table[r][f];
}

const char *segment_name(const segment_map *m, uint8_t seg) {
    if (seg == 0 || seg > m->nsegments)
        return SEGMENT_UNMATCHED_NAME;
    return m->names[seg];
}

int segment_find(const segment_map *m, const char *name) {
    for (int i = 1; i <= m->nsegments; i++)
        if (!strcmp(m->names[i], name))
            return i;
    if (!strcmp(name, SEGMENT_UNMATCHED_NAME))
        return 0;
    return -1;
}
