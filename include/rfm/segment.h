/*
 * segment — ordered RF-pattern rules (SPEC §3): the first rule whose pattern
 * matches the two-character RF code names the segment.
 *
 * A pattern is exactly two character positions, each a digit or a class
 * `[a-b]` / `[abc]` of digits ("[1-2]5", "33", "[4-5][2-3]"). Rules are
 * compiled into a bins x bins lookup table, so scoring never matches strings.
 * Segment index 0 is reserved for "none" (not scored, or no rule matched:
 * such customers are reported as SEGMENT_UNMATCHED_NAME).
 */
#ifndef RFM_SEGMENT_H
#define RFM_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

#define SEGMENT_MAX            64 /* rules */
#define SEGMENT_NAME_MAX       63
#define SEGMENT_BINS_MAX       9 /* RF codes are one digit per score */
#define SEGMENT_UNMATCHED_NAME "unclassified"

typedef struct segment_map {
    int bins;
    int nsegments;                                             /* distinct names, index 1..n */
    char names[SEGMENT_MAX + 1][SEGMENT_NAME_MAX + 1];         /* [0] = unclassified */
    uint8_t table[SEGMENT_BINS_MAX + 1][SEGMENT_BINS_MAX + 1]; /* [r][f] */
    int nrules;
    struct {
        char pattern[32];
        uint8_t segment;
    } rules[SEGMENT_MAX];
} segment_map;

/* Start an empty map for `bins` (2..SEGMENT_BINS_MAX). */
void segment_map_init(segment_map *m, int bins);

/* Append a rule. Rules with the same name share a segment index. Returns 0, or
 * -1 with a message in err for a bad pattern, a digit outside 1..bins, or too
 * many rules. */
int segment_map_add(segment_map *m, const char *pattern, const char *name, char *err,
                    size_t errlen);

/* The seeds' map of SPEC §3 (requires bins == 5; other bin counts start empty
 * and must be configured). */
void segment_map_default(segment_map *m, int bins);

uint8_t segment_of(const segment_map *m, int r, int f);
const char *segment_name(const segment_map *m, uint8_t seg);
/* Index of a name, or -1. */
int segment_find(const segment_map *m, const char *name);

#endif
