/* worker_input.h - one consumed message into the batch's events
 * (worker_input.c): the inference topic's InferenceResults and the
 * DeepStream topic's nvmsgconv JSON, with the fields a runtime leaves out
 * filled from the transport and the camera's inference session. */
#ifndef RUTH_WORKER_INPUT_H
#define RUTH_WORKER_INPUT_H

#include "worker.h"

/* Register the input metrics (unknown fields, defaulted fields,
 * DeepStream objects). */
void worker_input_metrics_init(worker *w);

/* Decode and validate `m` (its format chosen by its topic) into
 * w->events[w->nevents..], growing the array as needed, and identify each
 * event. 0: appended (a DeepStream frame may hold no object, so none);
 * 1: invalid, `err` and `*stage` say why (dead-letter it); -1: cannot
 * decide now (schema registry or database unreachable): retry the batch. */
int worker_input_decode(worker *w, rd_kafka_message_t *m, int64_t now_us, codec_error *err,
                        const char **stage);

/* Release what the batch's events and the DeepStream buffer hold. */
void worker_input_free(worker *w);

#endif
