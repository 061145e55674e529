/*
 * The operations gauges of GET /metrics, next to the shared counters of net/metrics.h:
 * what the alert rules of deploy/prometheus/ watch and the counters cannot say. Read on
 * each scrape, one Postgres query (indexed counts over the callback queue and the outbox,
 * and the newest successful ETL run) plus this worker's own state:
 *
 *   hisaab_postgres_up, hisaab_redis_up            the answering worker's connections
 *   hisaab_data_age_seconds                        since the newest successful ETL run
 *   hisaab_data_max_age_seconds                    max_data_age_hours (kore.conf)
 *   hisaab_journal_queued, hisaab_journal_queue_max  the answering worker's journal
 *   hisaab_callbacks_queued, hisaab_callbacks_overdue  queued; due more than 5 min ago
 *   hisaab_voice_callbacks_finished_1h{result}     callbacks ended in the last hour, ok|failed
 *   hisaab_sms_outbox_finished_24h{result}         monthly messages sent|failed, last 24 h
 *   hisaab_call_minutes_today, hisaab_call_minutes_daily_cap  outbound minutes, India day
 *
 * While Postgres is down the query's gauges are left out and hisaab_postgres_up is 0.
 */
#ifndef HISAAB_API_OPS_H
#define HISAAB_API_OPS_H

struct config;
struct http_request;

/* Keep the figures of cfg the gauges compare against. */
void api_ops_init(const struct config *cfg);

/* Answer a scrape: the shared counters, then the gauges above. */
void api_ops_metrics(struct http_request *req);

#endif
