/* api_handlers.h - the resource handlers api_routes.c dispatches to, one
 * file per resource. Each fills the response through api_response.h and
 * borrows its database connection through api_db.h. */
#ifndef RUTH_API_HANDLERS_H
#define RUTH_API_HANDLERS_H

#include "api_context.h"

/* api_violations.c */
void h_violations_list(api_req *r);
void h_violation_get(api_req *r);
void h_violation_patch(api_req *r);
/* api_media.c */
void h_violation_snapshot(api_req *r);
void h_violation_video(api_req *r);
/* api_evidence.c */
void h_violation_evidence_request(api_req *r);
/* api_stream.c */
void h_violations_stream(api_req *r);
/* api_events.c */
void h_events_list(api_req *r);
void h_event_get(api_req *r);
/* api_analytics.c */
void h_analytics_summary(api_req *r);
void h_analytics_camera(api_req *r);
/* api_devices.c */
void h_devices_list(api_req *r);
void h_device_get(api_req *r);
/* The device of path segment 1 as GET /devices/{id} answers it, read from
 * the read replica when `replica` (else the primary: after a write). */
void api_devices_answer(api_req *r, bool replica);
/* api_inference.c */
void h_device_start(api_req *r);
void h_device_stop(api_req *r);
/* api_zones.c */
void h_zones_list(api_req *r);
void h_zone_put(api_req *r);
void h_zone_delete(api_req *r);
void h_device_patch(api_req *r);
/* api_models.c */
void h_models_status(api_req *r);
void h_runtime_register(api_req *r);
/* api_admin.c */
void h_rules_list(api_req *r);
void h_rule_create(api_req *r);
void h_rule_get(api_req *r);
void h_rule_patch(api_req *r);
void h_rule_delete(api_req *r);
void h_typemap_list(api_req *r);
void h_typemap_put(api_req *r);
void h_typemap_delete(api_req *r);

#endif
