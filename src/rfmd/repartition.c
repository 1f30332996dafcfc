/*
 * repartition — see repartition.h.
 *
 * The copy keeps the input's value as is (not re-encoded): stage 2 decodes
 * exactly what the producer sent, with the same fields, and a dead letter
 * of stage 2 (none is expected) would still carry the original bytes. Only
 * the key changes: the customer id, which the placement is computed from,
 * so a reader of the repartition topic can check it (stage 2's keying check
 * does, against the same partitioner: it always passes).
 *
 * Redo (tracker_in_state) does not arise here: stage-1 partitions have no
 * restored state, they resume at the group's committed offset.
 */
#include "repartition.h"

#include "keying.h"
#include "log.h"
#include "rfm/order.h"

/* Forward decoded order p->dec.o of `in` to its customer's partition. */
static int repartition_forward(pipeline *p, const repartition *r, const pipeline_input *in,
                               int slot) {
    const order_str *id = &p->dec.o.customer_id;
    int32_t part = keying_partition(r->partitioner, id->p, id->len, r->count);
    if (part < 0) {
        /* Cannot happen after a valid decode (ids are never empty, the
         * count is known): refuse it rather than guess. */
        return pipeline_dead_letter(p, in, slot, PIPELINE_REJECT_INVALID, PIPELINE_INVALID_DETAIL);
    }
    tracker_ref *ref = tracker_ref_take(p->trk, slot, in->offset);
    if (!ref) {
        log_error("repartition: out of memory");
        p->failed = 1;
        return -1;
    }
    producer_msg m = {
        .topic = r->topic,
        .key = id->p,
        .key_len = id->len,
        .value = (void *)in->payload,
        .len = in->len,
        .owned = false,
        .partitioned = true,
        .partition = part,
    };
    int rc = producer_send(p->prod, &m, ref);
    if (rc == -1) {
        p->failed = 1;
        return -1;
    }
    /* -2: larger than the producer's message.max.bytes (logged by the
     * producer, ref settled): lost to the state like a refused dead letter. */
    if (rc == 0)
        p->stats.repartitioned++;
    return 0;
}

int repartition_process(pipeline *p, const repartition *r, const pipeline_input *in) {
    if (p->failed)
        return -1;
    p->stats.repartition_in++;
    int slot = tracker_slot(p->trk, in->topic, in->partition);
    if (slot < 0 || tracker_begin(p->trk, slot, in->offset) < 0) {
        log_error("repartition: out of memory tracking offsets");
        p->failed = 1;
        return -1;
    }
    char err[256] = "";
    const char *buf = in->payload ? in->payload : "";
    event_reject rj = event_decode(&p->cfg->fields, buf, in->payload ? in->len : 0,
                                   p->cfg->max_message_bytes, &p->dec, err, sizeof err);
    int rc;
    if (rj != EVENT_OK) {
        if ((int)rj > 0 && rj < EVENT_REJECT_COUNT)
            p->stats.rejected_by[rj]++;
        rc = pipeline_dead_letter(p, in, slot, event_reject_name(rj), err[0] ? err : "rejected");
    } else if (!order_valid(&p->dec.o)) {
        p->stats.invalid++;
        rc = pipeline_dead_letter(p, in, slot, PIPELINE_REJECT_INVALID, PIPELINE_INVALID_DETAIL);
    } else {
        rc = repartition_forward(p, r, in, slot);
    }
    tracker_end(p->trk, slot, in->offset);
    return rc;
}
