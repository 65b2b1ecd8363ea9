package dev.danmaku.bench;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.HdrHistogram.Histogram;
import org.jspecify.annotations.Nullable;

/**
 * The whole-process fan-out benchmark (issue #6). Starts a Kafka broker (unless
 * {@code --bootstrap} names one), the aggregator and ONE gateway, each a separate process, the
 * gateway pinned with {@code taskset -c <gateway-cpus>} so that its CPU time and RSS can be read
 * from {@code /proc/<pid>}; then, in this process (run it pinned to the other core), connects
 * viewers to one room with {@link BenchClient} and sends comments through the real path
 * (gateway → broker → aggregator → room topic → gateway → viewers). The same client and load
 * then (or first) run against {@link BaselineServer}, a minimal Netty broadcaster, so that the
 * figures can be quoted as ratios measured in the same run.
 *
 * <pre>
 * ./mvnw -q -pl bench,gateway,aggregator -am package -DskipTests
 * taskset -c 1 java -jar bench/target/danmaku-bench.jar --viewers 2000 --rate 350
 * taskset -c 1 java -jar bench/target/danmaku-bench.jar --mode idle --viewers 19000
 * </pre>
 *
 * Options ({@code --name value}): see {@link #DEFAULTS}.
 */
public final class FanoutBench {

    /** Every option and its default. */
    static final Map<String, String> DEFAULTS = new LinkedHashMap<>();

    static {
        DEFAULTS.put("mode", "fanout");          // fanout | idle
        DEFAULTS.put("targets", "baseline,gateway");
        DEFAULTS.put("viewers", "2000");
        DEFAULTS.put("rate", "350");             // comments per second
        DEFAULTS.put("senders", "400");          // distinct users sending
        DEFAULTS.put("warmup", "90");            // seconds of load before measuring: every JVM's JIT settles (docs/performance.md)
        DEFAULTS.put("ramp", "20");             // seconds at the start of the warm-up over which the rate rises from 0
        DEFAULTS.put("duration", "30");          // seconds measured
        DEFAULTS.put("drain", "15");             // seconds to wait at most for the last deliveries
        DEFAULTS.put("in-flight", "256");        // handshakes under way at once
        DEFAULTS.put("deflate", "false");        // viewers offer permessage-deflate, as browsers do
        DEFAULTS.put("client-rcvbuf", "0");      // each client socket's SO_RCVBUF; 0: the kernel's (see BenchClient)
        DEFAULTS.put("room", "bench");
        DEFAULTS.put("work", "/tmp/perf");       // logs, broker data
        DEFAULTS.put("bootstrap", "");           // an existing broker; empty: start one
        DEFAULTS.put("kafka-port", "18390");
        DEFAULTS.put("gateway-port", "18301");
        DEFAULTS.put("baseline-port", "18302");
        DEFAULTS.put("aggregator-management-port", "18381"); // its metrics, read for the stage figures
        DEFAULTS.put("gateway-jar", "gateway/target/danmaku-gateway.jar");
        DEFAULTS.put("aggregator-jar", "aggregator/target/danmaku-aggregator.jar");
        DEFAULTS.put("server-cpus", "0");        // taskset of the gateway and of the baseline
        DEFAULTS.put("infra-cpus", "0-1");       // taskset of the broker and the aggregator
        DEFAULTS.put("server-jvm", "-Xmx1g");    // JVM options of the gateway AND the baseline
        DEFAULTS.put("gateway-jvm", "");         // extra JVM options of the gateway
        DEFAULTS.put("jfr", "");                 // a file: JFR (settings=profile) of the gateway over the measured window
        DEFAULTS.put("idle-warm", "500");        // idle mode: viewers connected before the RSS baseline
        DEFAULTS.put("hold", "20");              // idle mode: seconds held open with heartbeats
        DEFAULTS.put("heartbeat", "5s");         // idle mode: the gateway's heartbeat interval
        DEFAULTS.put("histo", "");               // idle mode: a file for the server's live-heap class histogram
    }

    private final Map<String, String> options;
    private final Path work;
    private final List<Process> started = new ArrayList<>();
    /** The gateway target's other processes and metrics, or null (the baseline). */
    private @Nullable Stages stages;

    private FanoutBench(Map<String, String> options) {
        this.options = options;
        this.work = Path.of(options.get("work"));
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> options = new LinkedHashMap<>(DEFAULTS);
        for (int i = 0; i < args.length; i++) {
            String name = args[i].startsWith("--") ? args[i].substring(2) : "";
            if (!DEFAULTS.containsKey(name) || i + 1 >= args.length) {
                System.err.println("Unknown option or missing value: " + args[i] + "\nOptions and defaults: " + DEFAULTS);
                System.exit(2);
            }
            options.put(name, args[++i]);
        }
        FanoutBench bench = new FanoutBench(options);
        Runtime.getRuntime().addShutdownHook(new Thread(bench::stopAll));
        try {
            bench.run();
        } finally {
            bench.stopAll();
        }
        System.exit(0);
    }

    private void run() throws Exception {
        Files.createDirectories(work.resolve("logs"));
        System.out.printf(Locale.ROOT, "# fan-out bench %s, %s, on %d cpus; options %s%n", options.get("mode"),
                java.time.Instant.now(), Runtime.getRuntime().availableProcessors(), options);
        List<Result> results = new ArrayList<>();
        for (String target : options.get("targets").split(",")) {
            Result result = switch (target.trim()) {
                case "baseline" -> runBaseline();
                case "gateway" -> runGateway();
                default -> throw new IllegalArgumentException("unknown target " + target);
            };
            System.out.println(result.describe());
            results.add(result);
        }
        if (results.size() == 2) {
            System.out.println(Result.ratios(results.get(1), results.get(0)));
        }
    }

    // ---- targets ----

    private Result runBaseline() throws Exception {
        int port = intOption("baseline-port");
        List<String> command = new ArrayList<>(taskset("server-cpus"));
        command.addAll(java(options.get("server-jvm")));
        command.addAll(List.of("-cp", benchJar(), BaselineServer.class.getName(), Integer.toString(port)));
        Process server = start("baseline", command, Map.of());
        awaitLine("baseline", "READY", Duration.ofSeconds(30));
        try {
            return measure("baseline", server.pid(), port, "/viewer", null, false, senderPaths(null, null));
        } finally {
            stop(server);
        }
    }

    private Result runGateway() throws Exception {
        String bootstrap = options.get("bootstrap");
        Map<String, Long> infra = new LinkedHashMap<>();
        if (bootstrap.isEmpty()) {
            bootstrap = startBroker();
            infra.put("broker", started.get(started.size() - 1).pid());
        }
        Map<String, String> aggregatorEnv = new HashMap<>();
        aggregatorEnv.put("DANMAKU_KAFKA_BOOTSTRAP_SERVERS", bootstrap);
        // the bench's 350/s in one room would exceed the room's density cap (40 per 100 ms window)
        // and, with jitter, a user's burst: raised so that nothing is dropped by policy
        aggregatorEnv.put("DANMAKU_AGGREGATOR_DENSITY", "100000");
        aggregatorEnv.put("DANMAKU_AGGREGATOR_MAX_COMMENTS_PER_WINDOW", "100000");
        aggregatorEnv.put("DANMAKU_AGGREGATOR_COMMENT_BURST", "20");
        int aggregatorManagement = intOption("aggregator-management-port");
        aggregatorEnv.put("DANMAKU_AGGREGATOR_MANAGEMENT_PORT", Integer.toString(aggregatorManagement));
        List<String> aggregatorCommand = new ArrayList<>(taskset("infra-cpus"));
        aggregatorCommand.addAll(java("-Xmx512m"));
        aggregatorCommand.addAll(List.of("-jar", options.get("aggregator-jar")));
        Process aggregator = start("aggregator", aggregatorCommand, aggregatorEnv);
        infra.put("aggregator", aggregator.pid());

        int port = intOption("gateway-port");
        Map<String, String> gatewayEnv = new HashMap<>();
        gatewayEnv.put("SERVER_PORT", Integer.toString(port));
        gatewayEnv.put("DANMAKU_DEV_MODE", "true");
        gatewayEnv.put("DANMAKU_KAFKA_BOOTSTRAP_SERVERS", bootstrap);
        gatewayEnv.put("DANMAKU_ABUSE_MAX_CONNECTIONS_PER_IP", "1000000"); // every viewer comes from 127.0.0.1
        // on a shared, loaded machine a send may take over the default 1 s to be stored: wait longer
        gatewayEnv.put("DANMAKU_INGRESS_ANSWER_TIMEOUT", "10s");
        gatewayEnv.put("DANMAKU_KAFKA_DELIVERY_TIMEOUT", "10s");
        // a gateway starved of CPU reads a sender's frames in bursts: the per-connection limit
        // (5/s, bursts of 10) would refuse them although each sender sends under 1/s
        gatewayEnv.put("DANMAKU_LIMITS_COMMENTS_PER_SECOND", "50");
        gatewayEnv.put("DANMAKU_LIMITS_COMMENT_BURST", "100");
        if (options.get("mode").equals("idle")) {
            gatewayEnv.put("DANMAKU_HEARTBEAT_INTERVAL", options.get("heartbeat"));
        }
        List<String> gatewayCommand = new ArrayList<>(taskset("server-cpus"));
        gatewayCommand.addAll(java(options.get("server-jvm") + " " + options.get("gateway-jvm")));
        gatewayCommand.addAll(List.of("-jar", options.get("gateway-jar")));
        Process gateway = start("gateway", gatewayCommand, gatewayEnv);
        try {
            awaitHealthy(port, Duration.ofSeconds(600));
            String room = options.get("room");
            List<String> senders = options.get("mode").equals("idle") ? List.of()
                    : senderPaths(port, intOption("senders") + 1);
            stages = new Stages(infra, port, aggregatorManagement);
            return measure("gateway", gateway.pid(), port, "/ws?room=" + room, "danmaku.v1.json", true, senders);
        } finally {
            stop(gateway);
            stop(aggregator);
        }
    }

    // ---- the measurement, the same for both targets ----

    private Result measure(String name, long pid, int port, String viewerPath, @Nullable String subprotocol,
                           boolean gateway, List<String> senderPaths) throws Exception {
        // the host's TCP counters over the whole run of this target (connects and warm-up too): a
        // run that put TCP under memory pressure had sockets stalled by dropped segments
        Map<String, Long> tcpBefore = Proc.tcpCounters();
        Result result = options.get("mode").equals("idle")
                ? measureIdle(name, pid, port, viewerPath, subprotocol, gateway)
                : measureFanout(name, pid, port, viewerPath, subprotocol, gateway, senderPaths);
        result.figures().putAll(Proc.delta(tcpBefore, Proc.tcpCounters()));
        return result;
    }

    private Result measureFanout(String name, long pid, int port, String viewerPath, @Nullable String subprotocol,
                                 boolean gateway, List<String> senderPaths) throws Exception {
        int viewers = intOption("viewers");
        double rate = Double.parseDouble(options.get("rate"));
        int warmup = intOption("warmup");
        int duration = intOption("duration");
        double ramp = Double.parseDouble(options.get("ramp"));
        if (ramp < 0 || ramp > warmup) {
            throw new IllegalArgumentException("--ramp must be within 0..warmup, not " + ramp);
        }
        // the ids sent in the measured window [warmup, warmup + duration) once the ramp is behind
        int total = (int) Math.round(rate * (warmup + duration - ramp / 2));
        int measureFrom = (int) Math.round(rate * (warmup - ramp / 2));
        String room = options.get("room");
        try (BenchClient client = new BenchClient("127.0.0.1", port, Boolean.parseBoolean(options.get("deflate")), intOption("client-rcvbuf"))) {
            client.plan(total, measureFrom, total);
            client.connectSenders(senderPaths, subprotocol).get(120, TimeUnit.SECONDS);
            long connectNanos = client.connectViewers(viewers, viewerPath, subprotocol, gateway,
                    intOption("in-flight")).get(10, TimeUnit.MINUTES);
            log(name + ": " + client.ready + " viewers ready, " + client.failed + " failed, in "
                    + millis(connectNanos) + " ms");
            if (gateway) { // the path is up once a probe comment came back in a batch
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
                for (int n = 0; !client.batchSeen; n++) {
                    if (System.nanoTime() > deadline) {
                        throw new IllegalStateException("no batch came back within 120 s: see " + work.resolve("logs"));
                    }
                    client.probe(room, n);
                    Thread.sleep(1000);
                }
                log(name + ": a probe came back; sending");
            }
            client.startSending(room, rate, ramp, senderPaths.size() - (gateway ? 1 : 0));
            long warmupEnd = System.nanoTime() + TimeUnit.SECONDS.toNanos(warmup);
            if (gateway && stages != null) {
                // Once during the warm-up, as a Prometheus scraping from the start would have: the
                // first scrape of a fresh JVM runs cold code (and its JIT) on the gateway's one core
                Thread.sleep(TimeUnit.SECONDS.toMillis(warmup) / 3);
                stages.read();
            }
            // The services' own figures are read 2 s before the measured window, so that the scrape's
            // CPU on the gateway's core falls outside it (their figures are rates over their own span)
            Thread.sleep(Math.max(0, TimeUnit.NANOSECONDS.toMillis(warmupEnd - System.nanoTime()) - 2000));
            Stages.Reading stagesStart = gateway && stages != null ? stages.read() : null;
            Thread.sleep(Math.max(0, TimeUnit.NANOSECONDS.toMillis(warmupEnd - System.nanoTime())));
            if (gateway && !options.get("jfr").isEmpty()) {
                new ProcessBuilder("jcmd", Long.toString(pid), "JFR.start", "name=bench", "settings=profile",
                        "duration=" + duration + "s", "filename=" + options.get("jfr"))
                        .redirectErrorStream(true).redirectOutput(work.resolve("logs/jcmd.log").toFile())
                        .start().waitFor(30, TimeUnit.SECONDS);
            }
            Sample start = sample(client, pid);
            Map<String, Long> tcpStart = Proc.tcpCounters();
            Thread.sleep(TimeUnit.SECONDS.toMillis(duration));
            Sample end = sample(client, pid);
            Map<String, Long> tcpWindow = Proc.delta(tcpStart, Proc.tcpCounters());
            Map<String, Object> stageFigures = stagesStart == null ? Map.of() : Stages.between(stagesStart, stages.read());
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(intOption("drain"));
            long expected = (long) total * client.ready;
            while (System.nanoTime() < deadline && (!client.sendingDone() || client.deliveries < expected)) {
                Thread.sleep(100);
            }
            BenchClient.Totals totals = client.totals();
            Result result = Result.fanout(name, viewers, client.ready, connectNanos, rate, total, warmup, start, end, totals,
                    expected, client.viewersClosed, client.acks, client.senderErrors, client.firstSenderError);
            result.figures().putAll(stageFigures);
            tcpWindow.forEach((counter, value) -> result.figures().put("measured." + counter, value));
            result.figures().put("viewers.deflated", client.viewersDeflated);
            client.closeAll();
            return result;
        }
    }

    private Result measureIdle(String name, long pid, int port, String viewerPath, @Nullable String subprotocol,
                               boolean gateway) throws Exception {
        int viewers = intOption("viewers");
        int warm = Math.min(intOption("idle-warm"), viewers);
        try (BenchClient client = new BenchClient("127.0.0.1", port, Boolean.parseBoolean(options.get("deflate")), intOption("client-rcvbuf"))) {
            client.plan(0, 0, 0);
            client.connectViewers(warm, viewerPath, subprotocol, gateway, intOption("in-flight"))
                    .get(10, TimeUnit.MINUTES);
            Thread.sleep(3000);
            long rssBefore = Proc.rssBytes(pid);
            long cpuBefore = Proc.cpuNanos(pid);
            long connectNanos = client.connectViewers(viewers - warm, viewerPath, subprotocol, gateway,
                    intOption("in-flight")).get(10, TimeUnit.MINUTES);
            long cpuConnect = Proc.cpuNanos(pid) - cpuBefore;
            long rssConnected = Proc.rssBytes(pid);
            log(name + ": " + client.ready + " viewers ready, " + client.failed + " failed; holding "
                    + options.get("hold") + " s");
            Thread.sleep(TimeUnit.SECONDS.toMillis(intOption("hold")));
            long rssHeld = Proc.rssBytes(pid);
            long cpuHold = Proc.cpuNanos(pid) - cpuBefore - cpuConnect;
            if (!options.get("histo").isEmpty()) { // the live heap by class (after a full GC), while connected
                new ProcessBuilder("jcmd", Long.toString(pid), "GC.class_histogram")
                        .redirectErrorStream(true).redirectOutput(Path.of(options.get("histo") + "." + name).toFile())
                        .start().waitFor(120, TimeUnit.SECONDS);
            }
            Result result = Result.idle(name, viewers, client.ready, viewers - warm, connectNanos, rssBefore,
                    rssConnected, rssHeld, cpuConnect, cpuHold, intOption("hold"), client.viewersClosed);
            result.figures().put("viewers.deflated", client.viewersDeflated);
            // A reconnect storm onto the now warm server (its JIT has compiled the connect path, as
            // a node's that has run for a while): the measured viewers are dropped at once and
            // connect again, with the warm-up's viewers still held
            client.closeViewersFrom(warm);
            Thread.sleep(3000);
            log(name + ": reconnect storm: " + (viewers - warm) + " viewers dropped, connecting again");
            int failedBefore = client.failed;
            long cpuBeforeStorm = Proc.cpuNanos(pid);
            long stormNanos = client.connectViewers(viewers - warm, viewerPath, subprotocol, gateway,
                    intOption("in-flight")).get(10, TimeUnit.MINUTES);
            long cpuStorm = Proc.cpuNanos(pid) - cpuBeforeStorm;
            result.figures().put("reconnect.failed", client.failed - failedBefore);
            result.figures().put("reconnect.per.s", Math.round((viewers - warm) / (stormNanos / 1e9)));
            result.figures().put("reconnect.server.cpu.us.per.connect", cpuStorm / 1000.0 / (viewers - warm));
            client.closeAll();
            return result;
        }
    }

    private Sample sample(BenchClient client, long pid) {
        return new Sample(System.nanoTime(), client.deliveries, Proc.cpuNanos(pid), Proc.rssBytes(pid),
                client.loopCpuNanos(), Proc.cpuNanos(ProcessHandle.current().pid()));
    }

    record Sample(long nanos, long deliveries, long serverCpu, long serverRss, long clientLoopCpu, long clientCpu) {
    }

    // ---- results ----

    record Result(String name, Map<String, Object> figures) {

        static Result fanout(String name, int viewers, int ready, long connectNanos, double rate, int total,
                             int firstMeasuredSecond, Sample start, Sample end, BenchClient.Totals totals, long expected, int closed,
                             int acks, int senderErrors, @Nullable String firstError) {
            double seconds = (end.nanos() - start.nanos()) / 1e9;
            long deliveries = end.deliveries() - start.deliveries();
            long serverCpu = end.serverCpu() - start.serverCpu();
            Histogram h = totals.latency();
            Map<String, Object> f = new LinkedHashMap<>();
            f.put("viewers", ready + "/" + viewers);
            f.put("connect.per.s", Math.round(ready / (connectNanos / 1e9)));
            f.put("rate", rate);
            f.put("comments.sent", total);
            f.put("deliveries.per.s", Math.round(deliveries / seconds));
            f.put("comments.per.frame", totals.frames() == 0 ? 0.0 : (double) totals.received() / totals.frames());
            f.put("deliveries.expected", expected);
            f.put("deliveries.lost", expected - totals.received());
            f.put("deliveries.lost.of.acked", totals.lostAcked());
            f.put("comments.acked", totals.acked());
            f.put("comments.refused", totals.refused());
            f.put("duplicates", totals.duplicates());
            f.put("unknown.ids", totals.unknown());
            f.put("send.failures", totals.sendFailures());
            f.put("latency.ms.p50", h.getValueAtPercentile(50) / 1000.0);
            f.put("latency.ms.p90", h.getValueAtPercentile(90) / 1000.0);
            f.put("latency.ms.p99", h.getValueAtPercentile(99) / 1000.0);
            f.put("latency.ms.p999", h.getValueAtPercentile(99.9) / 1000.0);
            f.put("latency.ms.max", h.getMaxValue() / 1000.0);
            f.put("latency.samples", h.getTotalCount());
            // p50/p99/max ms of the comments sent in each second: a tail from a stall shows as a few
            // bad seconds, a tail from queueing as every second's p99 high
            StringBuilder timeline = new StringBuilder();
            List<Histogram> bySecond = totals.latencyBySecond();
            for (int second = firstMeasuredSecond; second < bySecond.size(); second++) {
                Histogram s = bySecond.get(second);
                if (s.getTotalCount() > 0) {
                    timeline.append(String.format(Locale.ROOT, "%s%d:%d/%d/%d", timeline.isEmpty() ? "" : " ", second,
                            s.getValueAtPercentile(50) / 1000, s.getValueAtPercentile(99) / 1000, s.getMaxValue() / 1000));
                }
            }
            f.put("latency.by.send.second", timeline.toString());
            Histogram ack = totals.ackLatency(); // the first stage: send → stored by the broker → ack
            f.put("ack.ms.p50", ack.getValueAtPercentile(50) / 1000.0);
            f.put("ack.ms.p99", ack.getValueAtPercentile(99) / 1000.0);
            f.put("server.cpu.us.per.delivery", deliveries == 0 ? Double.NaN : serverCpu / 1000.0 / deliveries);
            f.put("server.cpu.util", serverCpu / 1e9 / seconds);
            f.put("server.rss.mib", end.serverRss() / (1024.0 * 1024));
            f.put("client.loop.util", (end.clientLoopCpu() - start.clientLoopCpu()) / 1e9 / seconds);
            f.put("client.process.util", (end.clientCpu() - start.clientCpu()) / 1e9 / seconds);
            f.put("viewers.closed", closed);
            f.put("acks", acks);
            f.put("sender.errors", senderErrors + (firstError == null ? "" : " first: " + firstError));
            return new Result(name, f);
        }

        static Result idle(String name, int viewers, int ready, int measured, long connectNanos, long rssBefore,
                           long rssConnected, long rssHeld, long cpuConnect, long cpuHold, int holdSeconds,
                           int closed) {
            Map<String, Object> f = new LinkedHashMap<>();
            f.put("viewers", ready + "/" + viewers);
            f.put("connect.per.s", Math.round(measured / (connectNanos / 1e9)));
            f.put("server.cpu.us.per.connect", cpuConnect / 1000.0 / measured);
            f.put("server.rss.mib.before", rssBefore / (1024.0 * 1024));
            f.put("server.rss.mib.held", rssHeld / (1024.0 * 1024));
            f.put("rss.kib.per.connection.connected", (rssConnected - rssBefore) / 1024.0 / measured);
            f.put("rss.kib.per.connection.held", (rssHeld - rssBefore) / 1024.0 / measured);
            f.put("server.cpu.util.held", cpuHold / 1e9 / holdSeconds);
            f.put("viewers.closed", closed);
            return new Result(name, f);
        }

        String describe() {
            StringBuilder out = new StringBuilder("== " + name + "\n");
            figures.forEach((k, v) -> out.append(String.format(Locale.ROOT, "  %-36s %s%n", k, format(v))));
            return out.toString();
        }

        /** gateway / baseline for the numeric figures both have. */
        static String ratios(Result gateway, Result baseline) {
            StringBuilder out = new StringBuilder("== gateway / baseline (same run)\n");
            gateway.figures.forEach((k, v) -> {
                Object b = baseline.figures.get(k);
                if (v instanceof Number gv && b instanceof Number bv && bv.doubleValue() != 0) {
                    out.append(String.format(Locale.ROOT, "  %-36s %.3f%n", k, gv.doubleValue() / bv.doubleValue()));
                }
            });
            return out.toString();
        }

        private static String format(Object value) {
            return value instanceof Double d ? String.format(Locale.ROOT, "%.4g", d) : String.valueOf(value);
        }
    }

    // ---- processes ----

    private String startBroker() throws IOException, InterruptedException {
        int port = intOption("kafka-port");
        Path data = work.resolve("kafka");
        deleteTree(data); // every run starts from an empty broker: no room state or topic of an earlier run
        List<String> command = new ArrayList<>(taskset("infra-cpus"));
        command.addAll(java("-Xmx1g"));
        command.addAll(List.of("-cp", benchJar(), BrokerMain.class.getName(),
                data.toString(), Integer.toString(port)));
        start("broker", command, Map.of());
        awaitLine("broker", "READY", Duration.ofSeconds(600));
        return "127.0.0.1:" + port;
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(path);
            }
        }
    }

    private List<String> senderPaths(@Nullable Integer gatewayPort, @Nullable Integer count) throws Exception {
        if (gatewayPort == null) {
            return List.of("/sender"); // the baseline: one sender connection is the same load
        }
        HttpClient http = HttpClient.newHttpClient();
        Pattern token = Pattern.compile("\"token\"\\s*:\\s*\"([^\"]+)\"");
        List<String> paths = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gatewayPort + "/api/dev/tokens"))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"name\":\"bench-" + i + "\"}"))
                    .build();
            String body = http.send(request, HttpResponse.BodyHandlers.ofString()).body();
            Matcher m = token.matcher(body);
            if (!m.find()) {
                throw new IllegalStateException("no token in " + body);
            }
            paths.add("/ws?token=" + m.group(1));
        }
        return paths;
    }

    private Process start(String name, List<String> command, Map<String, String> env) throws IOException {
        Path logFile = work.resolve("logs").resolve(name + ".log");
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(logFile.toFile());
        builder.environment().putAll(env);
        log("starting " + name + ": " + String.join(" ", command).replaceAll("\\s+", " ") + " (log " + logFile + ")");
        Process process = builder.start();
        started.add(process);
        return process;
    }

    private void awaitLine(String name, String text, Duration max) throws IOException, InterruptedException {
        Path logFile = work.resolve("logs").resolve(name + ".log");
        long deadline = System.nanoTime() + max.toNanos();
        while (!Files.readString(logFile).contains(text)) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(name + " not ready: see " + logFile);
            }
            Thread.sleep(200);
        }
    }

    private void awaitHealthy(int port, Duration max) throws InterruptedException {
        HttpClient http = HttpClient.newHttpClient();
        long deadline = System.nanoTime() + max.toNanos();
        while (true) {
            try {
                HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/actuator/health"))
                        .timeout(Duration.ofSeconds(2)).build();
                if (http.send(request, HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return;
                }
            } catch (IOException e) {
                // not up yet
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("gateway not healthy: see " + work.resolve("logs/gateway.log"));
            }
            Thread.sleep(500);
        }
    }

    private void stop(Process process) throws InterruptedException {
        process.destroy(); // SIGTERM: the gateway drains (its viewers are already gone)
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
        }
        started.remove(process);
    }

    private synchronized void stopAll() {
        for (Process process : List.copyOf(started)) {
            try {
                stop(process);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                process.destroyForcibly();
            }
        }
    }

    private List<String> taskset(String option) {
        String cpus = options.get(option);
        return cpus.isEmpty() ? List.of() : List.of("taskset", "-c", cpus);
    }

    private static List<String> java(String jvmOptions) {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        for (String option : jvmOptions.trim().split("\\s+")) {
            if (!option.isEmpty()) {
                command.add(option);
            }
        }
        return command;
    }

    private static String benchJar() {
        try {
            return Path.of(FanoutBench.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
        } catch (java.net.URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private int intOption(String name) {
        return Integer.parseInt(options.get(name));
    }

    private static long millis(long nanos) {
        return TimeUnit.NANOSECONDS.toMillis(nanos);
    }

    private static void log(String message) {
        System.out.println("[" + java.time.LocalTime.now().withNano(0) + "] " + message);
    }
}
