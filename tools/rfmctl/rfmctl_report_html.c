/*
 * rfmctl report --html — one page that opens anywhere, offline and in a mail
 * attachment: inline CSS, no scripts, no fonts or images fetched. The grid is
 * the classic RFM picture (frequency score up, recency score right, each cell
 * in its segment's colour); every cell carries data-r/-f/-segment/-count so
 * tests and scrapers read numbers, not layout.
 */
#include <stdio.h>
#include <string.h>

#include "rfm/timefmt.h"
#include "rfmctl.h"

typedef struct colour {
    const char *segment, *bg, *fg;
} colour;

/* The seeds' segments in the usual RFM-map colours: green is worth keeping,
 * red is slipping away, grey is gone. */
static const colour known[] = {
    {"champions", "#1b5e20", "#fff"},
    {"loyal_customers", "#43a047", "#fff"},
    {"potential_loyalists", "#9ccc65", "#222"},
    {"new_customers", "#00897b", "#fff"},
    {"promising", "#4fc3f7", "#222"},
    {"need_attention", "#ffd54f", "#222"},
    {"about_to_sleep", "#ffa726", "#222"},
    {"at_risk", "#e53935", "#fff"},
    {"cant_loose", "#8e0000", "#fff"},
    {"hibernating", "#90a4ae", "#222"},
    {SEGMENT_UNMATCHED_NAME, "#eeeeee", "#222"},
};

/* Configured segments of other names still get a stable colour of their own. */
static const char *const spare[] = {"#7e57c2", "#5c6bc0", "#26c6da", "#d4e157",
                                    "#8d6e63", "#ec407a", "#78909c", "#ffee58"};

static colour colour_of(const char *segment) {
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (!strcmp(known[i].segment, segment))
            return known[i];
    unsigned h = 5381;
    for (const char *p = segment; *p; p++)
        h = h * 33 + (unsigned char)*p;
    return (colour){segment, spare[h % (sizeof spare / sizeof spare[0])], "#222"};
}

/* Segment names come from configuration and may hold any printable byte. */
static void esc(FILE *out, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", out);
            break;
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        case '\'':
            fputs("&#39;", out);
            break;
        default:
            fputc(*s, out);
        }
    }
}

/* Underscores read as words in a cell. */
static void esc_label(FILE *out, const char *s) {
    char buf[SEGMENT_NAME_MAX + 1];
    snprintf(buf, sizeof buf, "%s", s);
    for (char *p = buf; *p; p++)
        if (*p == '_')
            *p = ' ';
    esc(out, buf);
}

static const char style[] =
    "body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:24px;"
    "color:#222;background:#fff}\n"
    "h1{font-size:22px;margin:0 0 4px}\n"
    ".meta{color:#555;margin:0 0 20px}\n"
    ".wrap{display:flex;flex-wrap:wrap;gap:28px;align-items:flex-start}\n"
    "table{border-collapse:collapse}\n"
    "caption{text-align:left;font-weight:600;padding-bottom:8px}\n"
    ".grid td.cell{width:84px;height:72px;text-align:center;vertical-align:middle;"
    "border:2px solid #fff;padding:2px}\n"
    ".grid .n{display:block;font-size:20px;font-weight:600}\n"
    ".grid .s{display:block;font-size:11px;opacity:.9}\n"
    ".grid th{font-weight:normal;color:#555;padding:4px 8px}\n"
    ".grid .axis{color:#222;font-weight:600}\n"
    ".segments th,.segments td{padding:5px 8px;border-bottom:1px solid #ddd;text-align:right}\n"
    ".segments th:first-child,.segments td:first-child{text-align:left}\n"
    ".segments tfoot td{font-weight:600;border-bottom:none}\n"
    ".sw{display:inline-block;width:12px;height:12px;margin-right:8px;vertical-align:-1px;"
    "border-radius:2px}\n";

static void grid(FILE *out, const rfmctl_report *r) {
    fprintf(out, "<table class=\"grid\" id=\"rf-grid\">\n<caption>Customers by frequency score "
                 "(F) and recency score (R)</caption>\n");
    for (int fs = r->bins; fs >= 1; fs--) {
        fprintf(out, "<tr><th class=\"axis\">F %d</th>", fs);
        for (int rs = 1; rs <= r->bins; rs++) {
            const char *seg = r->cell[rs][fs];
            colour c = colour_of(seg);
            unsigned long long n = (unsigned long long)r->grid[rs][fs];
            fprintf(out, "\n<td class=\"cell\" data-r=\"%d\" data-f=\"%d\" data-segment=\"", rs,
                    fs);
            esc(out, seg);
            fprintf(out, "\" data-count=\"%llu\" style=\"background:%s;color:%s\">", n, c.bg, c.fg);
            fprintf(out, "<span class=\"n\">%llu</span><span class=\"s\">", n);
            esc_label(out, seg);
            fprintf(out, "</span></td>");
        }
        fprintf(out, "</tr>\n");
    }
    fprintf(out, "<tr><th></th>");
    for (int rs = 1; rs <= r->bins; rs++)
        fprintf(out, "<th class=\"axis\">R %d</th>", rs);
    fprintf(out,
            "</tr>\n<tr><th></th><th colspan=\"%d\">R %d = bought most recently, "
            "F %d = bought most often</th></tr>\n</table>\n",
            r->bins, r->bins, r->bins);
}

static void segments(FILE *out, const rfmctl_report *r) {
    fprintf(
        out,
        "<table class=\"segments\" id=\"segments\">\n<caption>Segments: customers and their means "
        "(recency in days)</caption>\n"
        "<thead><tr><th>segment</th><th>customers</th><th>share</th>"
        "<th>recency</th><th>frequency</th><th>monetary</th>"
        "</tr></thead>\n<tbody>\n");
    uint64_t rec = 0, freq = 0;
    int64_t cents = 0;
    for (int i = 0; i < r->nseg; i++) {
        const char *name = r->names[r->order[i]];
        const segment_total *a = &r->acc[r->order[i]];
        double n = (double)a->count;
        fprintf(out, "<tr data-segment=\"");
        esc(out, name);
        fprintf(out,
                "\" data-count=\"%llu\"><td><span class=\"sw\" style=\"background:%s\">"
                "</span>",
                (unsigned long long)a->count, colour_of(name).bg);
        esc(out, name);
        fprintf(out,
                "</td><td>%llu</td><td>%.1f%%</td><td>%.1f</td><td>%.2f</td><td>%.2f</td>"
                "</tr>\n",
                (unsigned long long)a->count, 100.0 * n / (double)r->customers,
                (double)a->recency_days / n, (double)a->frequency / n,
                (double)a->cents / 100.0 / n);
        rec += a->recency_days;
        freq += a->frequency;
        cents += a->cents;
    }
    double n = r->customers ? (double)r->customers : 1.0;
    fprintf(out,
            "</tbody>\n<tfoot><tr><td>all</td><td>%llu</td><td>100%%</td><td>%.1f</td>"
            "<td>%.2f</td><td>%.2f</td></tr></tfoot>\n</table>\n",
            (unsigned long long)r->customers, (double)rec / n, (double)freq / n,
            (double)cents / 100.0 / n);
}

int rfmctl_report_html(FILE *out, const rfmctl_report *r) {
    char day[16];
    timefmt_date(r->as_of, day, sizeof day);
    fprintf(out,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<title>RFM report</title>\n<style>\n%s</style>\n</head>\n<body>\n"
            "<h1>RFM segments</h1>\n<p class=\"meta\">",
            style);
    fprintf(out, "%llu customers, scored as of %s, from ", (unsigned long long)r->customers, day);
    esc(out, r->source);
    fprintf(out, "</p>\n<div class=\"wrap\">\n");
    grid(out, r);
    segments(out, r);
    fprintf(out, "</div>\n</body>\n</html>\n");
    return ferror(out) ? -1 : 0;
}
