package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics is the server's own Prometheus registry (not the global one, so
// that several servers can live in one process, as in tests).
type metrics struct {
	reg           *prometheus.Registry
	requests      *prometheus.CounterVec
	latency       *prometheus.HistogramVec
	streams       prometheus.Gauge
	liveEvents    prometheus.Counter
	liveDropped   prometheus.Counter
	liveLast      prometheus.Gauge
	loginFailures prometheus.Counter
	loginLimited  prometheus.Counter
	ingestRecv    prometheus.Counter
	ingestStored  prometheus.Counter
	ingestLast    prometheus.Gauge
	tagEvents     prometheus.Counter
	tagStored     prometheus.Counter
	tagLast       prometheus.Gauge
	alertsRaised  *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "decnet_api_requests_total", Help: "API requests by method, route pattern and status code.",
		}, []string{"method", "route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "decnet_api_request_duration_seconds", Help: "API request latency by method and route pattern.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"method", "route"}),
		streams: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "decnet_api_event_streams", Help: "Open /events/stream connections.",
		}),
		liveEvents: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "decnet_api_live_events_total", Help: "Events received from the live source while streams were open.",
		}),
		liveDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "decnet_api_live_events_dropped_total", Help: "Events not delivered to a stream whose queue was full.",
		}),
		liveLast: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "decnet_api_live_last_event_timestamp_seconds", Help: "Timestamp of the newest event seen on the live source.",
		}),
		loginFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "decnet_api_login_failures_total", Help: "Logins refused for a wrong user name or password.",
		}),
		loginLimited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "decnet_api_login_rate_limited_total", Help: "Logins refused by the rate limit.",
		}),
		ingestRecv: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "decnet_ingest_events_received_total", Help: "Events the DB ingester received from the bus (redeliveries included).",
		}),
		ingestStored: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "decnet_ingest_events_stored_total", Help: "Events the DB ingester stored for the first time.",
		}),
		ingestLast: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "decnet_ingest_last_batch_timestamp_seconds", Help: "When the DB ingester last stored a batch.",
		}),
		tagEvents: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "decnet_intel_tagger_events_total", Help: "Events the ATT&CK tagger handled (redeliveries included).",
		}),
		tagStored: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "decnet_intel_tags_stored_total", Help: "ATT&CK tags the tagger stored for the first time.",
		}),
		tagLast: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "decnet_intel_tagger_last_batch_timestamp_seconds", Help: "When the ATT&CK tagger last handled a batch.",
		}),
		alertsRaised: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "decnet_alerts_raised_total", Help: "Alerts the alert rules raised, by severity (0 info to 4 critical).",
		}, []string{"severity"}),
	}
	m.reg.MustRegister(m.alertsRaised, m.requests, m.latency, m.streams, m.liveEvents, m.liveDropped, m.liveLast,
		m.loginFailures, m.loginLimited, m.ingestRecv, m.ingestStored, m.ingestLast, m.tagEvents, m.tagStored, m.tagLast,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) observe(method, route string, code int, d time.Duration) {
	m.requests.WithLabelValues(method, route, strconv.Itoa(code)).Inc()
	m.latency.WithLabelValues(method, route).Observe(d.Seconds())
}

// MetricsHandler serves the server's Prometheus metrics. Serve it on the
// management listener, never on the API's.
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{Registry: s.metrics.reg})
}

// RecordIngest counts one batch of the DB ingester: received events,
// stored the new ones among them. The ingester calls it after each batch.
func (s *Server) RecordIngest(received, stored int) {
	s.metrics.ingestRecv.Add(float64(received))
	s.metrics.ingestStored.Add(float64(stored))
	s.metrics.ingestLast.Set(float64(s.now().UnixMilli()) / 1000)
}

// RecordTagging counts one batch of the ATT&CK tagger: events handled,
// tags stored for the first time. The tagger calls it after each batch;
// the gap between decnet_ingest_events_received_total and
// decnet_intel_tagger_events_total is the tagger's lag.
func (s *Server) RecordTagging(events, tags int) {
	s.metrics.tagEvents.Add(float64(events))
	s.metrics.tagStored.Add(float64(tags))
	s.metrics.tagLast.Set(float64(s.now().UnixMilli()) / 1000)
}

// RecordAlert counts an alert the alert evaluator raised.
func (s *Server) RecordAlert(severity int) {
	s.metrics.alertsRaised.WithLabelValues(strconv.Itoa(severity)).Inc()
}
