package dev.danmaku.bench;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Where the time of the gateway path goes: the CPU of the broker and the aggregator, and the
 * services' own figures from their Prometheus endpoints (the aggregator's transaction per window,
 * the gateway's accepted-to-written latency), sampled at the start and the end of the measured
 * window. They say which stage a latency or a loss comes from.
 */
final class Stages {

    /** One reading of every source. */
    record Reading(long nanos, Map<String, Long> cpu, Map<String, Double> metrics) {
    }

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final Map<String, Long> pids;
    private final String gatewayMetrics;
    private final String aggregatorMetrics;

    Stages(Map<String, Long> pids, int gatewayPort, int aggregatorManagementPort) {
        this.pids = pids;
        this.gatewayMetrics = "http://127.0.0.1:" + gatewayPort + "/actuator/prometheus";
        this.aggregatorMetrics = "http://127.0.0.1:" + aggregatorManagementPort + "/actuator/prometheus";
    }

    Reading read() {
        Map<String, Long> cpu = new LinkedHashMap<>();
        pids.forEach((name, pid) -> cpu.put(name, Proc.cpuNanos(pid)));
        Map<String, Double> metrics = new LinkedHashMap<>();
        scrape(gatewayMetrics, "gateway.", metrics, "danmaku_gateway_latency_seconds_sum",
                "danmaku_gateway_latency_seconds_count");
        scrape(aggregatorMetrics, "aggregator.", metrics, "danmaku_aggregator_window_duration_seconds_sum",
                "danmaku_aggregator_window_duration_seconds_count", "danmaku_aggregator_batches_total");
        return new Reading(System.nanoTime(), cpu, metrics);
    }

    /** The figures between two readings, named for the bench's output. */
    static Map<String, Object> between(Reading start, Reading end) {
        double seconds = (end.nanos() - start.nanos()) / 1e9;
        Map<String, Object> figures = new LinkedHashMap<>();
        end.cpu().forEach((name, nanos) ->
                figures.put(name + ".cpu.util", (nanos - start.cpu().getOrDefault(name, nanos)) / 1e9 / seconds));
        double batches = delta(start, end, "aggregator.danmaku_aggregator_batches_total");
        figures.put("aggregator.batches.per.s", batches / seconds);
        figures.put("aggregator.txn.ms.mean", 1000 * mean(start, end, "aggregator.danmaku_aggregator_window_duration_seconds"));
        figures.put("gateway.accepted.to.written.ms.mean", 1000 * mean(start, end, "gateway.danmaku_gateway_latency_seconds"));
        return figures;
    }

    private static double mean(Reading start, Reading end, String timer) {
        double count = delta(start, end, timer + "_count");
        return count == 0 ? Double.NaN : delta(start, end, timer + "_sum") / count;
    }

    private static double delta(Reading start, Reading end, String name) {
        Double a = start.metrics().get(name);
        Double b = end.metrics().get(name);
        return a == null || b == null ? Double.NaN : b - a;
    }

    private void scrape(String url, String prefix, Map<String, Double> into, String... names) {
        String body;
        try {
            HttpRequest request = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build();
            body = http.send(request, HttpResponse.BodyHandlers.ofString()).body();
        } catch (IOException e) {
            return; // not there: its figures print as NaN
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        for (String line : body.split("\n")) {
            for (String name : names) {
                // a series without labels: "name value"
                if (line.startsWith(name + " ")) {
                    into.put(prefix + name, Double.parseDouble(line.substring(name.length() + 1).trim()));
                }
            }
        }
    }
}
