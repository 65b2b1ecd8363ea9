package dev.danmaku.standalone;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.danmaku.gateway.config.GatewayProperties;
import dev.danmaku.protocol.bus.Topics;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.reflect.Modifier;
import java.lang.reflect.RecordComponent;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.springframework.beans.factory.config.BeanDefinition;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.ConfigurationPropertyName;
import org.springframework.boot.context.properties.source.ConfigurationPropertySource;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.boot.context.properties.source.IterableConfigurationPropertySource;
import org.springframework.boot.convert.ApplicationConversionService;
import org.springframework.boot.reactor.netty.NettyReactiveWebServerFactory;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.ClassPathScanningCandidateComponentProvider;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.core.env.SystemEnvironmentPropertySource;
import org.springframework.core.type.filter.AnnotationTypeFilter;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;

/**
 * The Kubernetes manifests ({@code k8s/}) checked against the application itself, so that the
 * two cannot drift apart: every overlay is rendered with {@code kubectl kustomize} (kubectl must
 * be on the PATH, as on CI) and its ports, probe paths, environment variable names and values,
 * topic names, proxy timeouts and shutdown timing are compared with the services' real
 * configuration classes and with a running gateway ({@link Cluster}).
 */
class KubernetesManifestsTest {

    private static final Path REPO = Path.of("").toAbsolutePath().getParent();
    private static final Path K8S = REPO.resolve("k8s");
    private static final Map<Path, List<Map<String, Object>>> RENDERED = new ConcurrentHashMap<>();
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static ConfigurableApplicationContext managedGateway;

    /** Spring Boot's own properties, from the configuration metadata its jars carry. */
    private static final Set<String> SPRING_PROPERTIES = springPropertyNames(false);
    /** ... of which those that are maps ({@code logging.level}: {@code LOGGING_LEVEL_ORG_APACHE_KAFKA}). */
    private static final Set<String> SPRING_MAP_PROPERTIES = springPropertyNames(true);
    /** Environment variables the JVM itself reads. */
    private static final Set<String> JVM_VARIABLES = Set.of("JDK_JAVA_OPTIONS", "JAVA_TOOL_OPTIONS");
    /**
     * The gateway's drain ({@code danmaku.drain.period}): viewers are told 1012 in waves over
     * this period after SIGTERM. Its documented default, used until the property exists in
     * {@link GatewayProperties} (then the bound value is used, see {@link #drainPeriod}).
     */
    private static final Duration DRAIN_PERIOD_DEFAULT = Duration.ofSeconds(20);
    /** Time the gateway needs after the drain to close its Kafka clients (measured: ~4 s). */
    private static final Duration CLOSE_MARGIN = Duration.ofSeconds(10);
    /** Metrics of the Strimzi Kafka Exporter (Kafka.spec.kafkaExporter), not of our services. */
    private static final Set<String> KAFKA_EXPORTER_METRICS = Set.of("kafka_consumergroup_lag",
            "kafka_topic_partition_current_offset");
    /**
     * The aggregator's metrics as agreed for it (Micrometer names in docs/operations.md, rendered
     * for Prometheus). The aggregator serves no /actuator/prometheus in this test's cluster yet:
     * once it does, check the dashboard's and the alerts' danmaku_aggregator_* series against a
     * scrape of the Cluster's aggregator, as the gateway's are, and drop this list.
     */
    private static final Set<String> AGREED_AGGREGATOR_METRICS = Set.of(
            "danmaku_aggregator_windows_total", "danmaku_aggregator_batches_total", "danmaku_aggregator_ingress_total",
            "danmaku_aggregator_drops_total", "danmaku_aggregator_rooms", "danmaku_aggregator_topics_creations_total",
            "danmaku_aggregator_topics_deletions_total", "danmaku_aggregator_consumer_lag",
            "danmaku_aggregator_window_duration_seconds_count", "danmaku_aggregator_window_duration_seconds_sum",
            "danmaku_aggregator_window_duration_seconds_max");
    /** Labels Prometheus adds when it scrapes a pod: not the application's. */
    private static final Set<String> TARGET_LABELS = Set.of("namespace", "pod", "le");

    static Stream<Path> overlays() throws IOException {
        try (Stream<Path> dirs = Files.list(K8S.resolve("overlays"))) {
            List<Path> list = dirs.filter(Files::isDirectory).sorted().toList();
            assertThat(list).extracting(p -> p.getFileName().toString()).contains("dev", "prod");
            return list.stream();
        }
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void everyOverlayRendersBothServicesKafkaAndItsTopics(Path overlay) {
        List<Map<String, Object>> docs = render(overlay);
        assertThat(one(docs, "Deployment", "danmaku-gateway")).isNotNull();
        assertThat(one(docs, "StatefulSet", "danmaku-aggregator")).isNotNull();
        assertThat(ofKind(docs, "Kafka")).hasSize(1);
        assertThat(ofKind(docs, "KafkaNodePool")).isNotEmpty();
        assertThat(ofKind(docs, "KafkaTopic")).isNotEmpty();
        for (Map<String, Object> doc : docs) {
            assertThat(str(doc, "metadata", "namespace")).as("namespace of %s", id(doc))
                    .isIn("danmaku", null); // null: the Namespace itself
        }
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void containerPortsAreThoseTheServicesListenOn(Path overlay) throws IOException {
        List<Map<String, Object>> docs = render(overlay);
        Map<String, Object> gateway = container(one(docs, "Deployment", "danmaku-gateway"), "gateway");
        Map<String, String> env = environment(docs, one(docs, "Deployment", "danmaku-gateway"), gateway);
        int defaultPort = new NettyReactiveWebServerFactory().getPort();
        int listens = env.containsKey("SERVER_PORT") ? Integer.parseInt(env.get("SERVER_PORT")) : defaultPort;
        assertThat(portNamed(gateway, "http")).as("the gateway's container port http").isEqualTo(listens);
        // Actuator on its own port, never behind the Service and the Ingress
        assertThat(env).containsKey("MANAGEMENT_SERVER_PORT");
        int management = Integer.parseInt(env.get("MANAGEMENT_SERVER_PORT"));
        assertThat(management).isNotEqualTo(listens);
        assertThat(portNamed(gateway, "management")).as("the gateway's container port management").isEqualTo(management);
        assertThat(dockerfileExpose("gateway")).as("EXPOSE of gateway/Dockerfile").containsExactly(listens, management);

        Map<String, Object> template = template(one(docs, "Deployment", "danmaku-gateway"));
        assertThat(str(template, "metadata", "annotations", "prometheus.io/port")).isEqualTo(String.valueOf(management));
        for (String probe : List.of("startupProbe", "livenessProbe", "readinessProbe")) {
            assertThat(str(gateway, probe, "httpGet", "port")).as(probe).isEqualTo("management");
        }

        // the aggregator: only its management port (metrics and health, no Spring web server)
        Map<String, Object> aggregator = container(one(docs, "StatefulSet", "danmaku-aggregator"), "aggregator");
        Map<String, String> aggregatorEnv = environment(docs, one(docs, "StatefulSet", "danmaku-aggregator"), aggregator);
        assertThat(aggregatorEnv).containsKey("DANMAKU_AGGREGATOR_MANAGEMENT_PORT");
        int aggregatorManagement = Integer.parseInt(aggregatorEnv.get("DANMAKU_AGGREGATOR_MANAGEMENT_PORT"));
        assertThat(portNamed(aggregator, "management")).as("the aggregator's container port management")
                .isEqualTo(aggregatorManagement);
        assertThat(dockerfileExpose("aggregator")).as("EXPOSE of aggregator/Dockerfile").containsExactly(aggregatorManagement);
        for (String probe : List.of("livenessProbe", "readinessProbe")) {
            assertThat(str(aggregator, probe, "httpGet", "port")).as("aggregator " + probe).isEqualTo("management");
        }

        // the Service and the Ingresses reach the port by its name
        Map<String, Object> service = one(docs, "Service", "danmaku-gateway");
        assertThat(list(service, "spec", "ports")).singleElement()
                .satisfies(p -> assertThat(((Map<?, ?>) p).get("targetPort")).isEqualTo("http"));
        for (Map<String, Object> ingress : ofKind(docs, "Ingress")) {
            for (Object rule : list(ingress, "spec", "rules")) {
                for (Object path : list(map(rule), "http", "paths")) {
                    assertThat(str(map(path), "backend", "service", "name")).isEqualTo("danmaku-gateway");
                    assertThat(str(map(path), "backend", "service", "port", "name")).isEqualTo("http");
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void containersRunAsTheImagesNonRootUserWithMemoryBounds(Path overlay) throws IOException {
        List<Map<String, Object>> docs = render(overlay);
        for (var workload : List.of(List.of("Deployment", "danmaku-gateway", "gateway"),
                List.of("StatefulSet", "danmaku-aggregator", "aggregator"))) {
            Map<String, Object> doc = one(docs, workload.get(0), workload.get(1));
            String module = workload.get(2);
            Map<String, Object> pod = map(template(doc).get("spec"));
            assertThat(map(pod.get("securityContext")).get("runAsNonRoot")).isEqualTo(true);
            assertThat(String.valueOf(map(pod.get("securityContext")).get("runAsUser")))
                    .as("runAsUser = USER of %s/Dockerfile", module).isEqualTo(dockerfileUser(module));
            Map<String, Object> container = container(doc, module);
            assertThat(str(container, "resources", "requests", "memory")).as("%s memory request", module).isNotNull();
            assertThat(str(container, "resources", "limits", "memory")).as("%s memory limit", module)
                    .isEqualTo(str(container, "resources", "requests", "memory"));
            assertThat(str(container, "resources", "requests", "cpu")).as("%s cpu request", module).isNotNull();
        }
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void everyEnvironmentVariableIsARealPropertyAndBindsToAValidConfiguration(Path overlay) {
        List<Map<String, Object>> docs = render(overlay);
        Map<String, String> gateway = environment(docs, one(docs, "Deployment", "danmaku-gateway"),
                container(one(docs, "Deployment", "danmaku-gateway"), "gateway"));
        Map<String, String> aggregator = environment(docs, one(docs, "StatefulSet", "danmaku-aggregator"),
                container(one(docs, "StatefulSet", "danmaku-aggregator"), "aggregator"));

        assertThat(SPRING_PROPERTIES).contains("server.port", "management.server.port", "logging.structured.format.console");
        assertNamesAreProperties("gateway", gateway, propertyNames("dev.danmaku.gateway"));
        assertNamesAreProperties("aggregator", aggregator, propertyNames("dev.danmaku.aggregator"));

        // bound through Spring's relaxed binding into the real records, whose constructors
        // reject invalid values: what the pod would start with
        Map<Class<?>, Object> gatewayConfig = bind("dev.danmaku.gateway", gateway);
        Map<Class<?>, Object> aggregatorConfig = bind("dev.danmaku.aggregator", aggregator);
        GatewayProperties gatewayProperties = (GatewayProperties) gatewayConfig.get(GatewayProperties.class);
        assertThat(gatewayProperties.kafka().bootstrapServers()).isEqualTo(gateway.get("DANMAKU_KAFKA_BOOTSTRAP_SERVERS"));
        assertThat(gatewayProperties.auth().jwtSecret()).as("the gateway's JWT secret, from a Secret")
                .isNotNull();
        assertThat(gatewayProperties.auth().jwtSecret().getBytes(StandardCharsets.UTF_8)).hasSizeGreaterThanOrEqualTo(32);
        assertThat(aggregatorConfig.keySet()).extracting(Class::getSimpleName)
                .contains("AggregatorProperties", "KafkaProperties", "NodeProperties");
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void aggregatorsHaveStableNodeIdsFromTheirPodNames(Path overlay) {
        List<Map<String, Object>> docs = render(overlay);
        Map<String, Object> container = container(one(docs, "StatefulSet", "danmaku-aggregator"), "aggregator");
        Map<String, Object> nodeId = envEntry(container, "DANMAKU_NODE_ID");
        assertThat(str(nodeId, "valueFrom", "fieldRef", "fieldPath")).isEqualTo("metadata.name");
        assertThat(ofKind(docs, "Deployment")).as("no aggregator Deployment (its surge would fence a live one)")
                .noneMatch(d -> "danmaku-aggregator".equals(str(d, "metadata", "name")));
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void kafkaTopicsAreTheProtocolsTopicsAndBoundTheAggregators(Path overlay) throws IllegalAccessException {
        List<Map<String, Object>> docs = render(overlay);
        Set<String> protocolTopics = new TreeSet<>();
        for (var field : Topics.class.getFields()) {
            if (Modifier.isStatic(field.getModifiers()) && field.getType() == String.class
                    && !field.getName().endsWith("_PREFIX")) {
                protocolTopics.add((String) field.get(null));
            }
        }
        String cluster = str(ofKind(docs, "Kafka").get(0), "metadata", "name");
        Map<String, Map<String, Object>> topics = new LinkedHashMap<>();
        for (Map<String, Object> topic : ofKind(docs, "KafkaTopic")) {
            assertThat(str(topic, "metadata", "labels", "strimzi.io/cluster")).isEqualTo(cluster);
            topics.put(str(topic, "spec", "topicName"), topic);
        }
        assertThat(topics.keySet()).as("KafkaTopics = the fixed topics of %s", Topics.class.getName())
                .containsExactlyInAnyOrderElementsOf(protocolTopics);

        int ingress = integer(topics.get(Topics.INGRESS), "spec", "partitions");
        for (String other : List.of(Topics.PRESENCE, Topics.STATE)) {
            assertThat(integer(topics.get(other), "spec", "partitions")).as("%s co-partitioned with ingress", other)
                    .isEqualTo(ingress);
        }
        assertThat(str(topics.get(Topics.STATE), "spec", "config", "cleanup.policy")).isEqualTo("compact");
        assertThat(integer(one(docs, "StatefulSet", "danmaku-aggregator"), "spec", "replicas"))
                .as("aggregators <= ingress partitions").isLessThanOrEqualTo(ingress);

        for (var workload : List.of(List.of("Deployment", "danmaku-gateway", "gateway"),
                List.of("StatefulSet", "danmaku-aggregator", "aggregator"))) {
            Map<String, Object> doc = one(docs, workload.get(0), workload.get(1));
            Map<String, String> env = environment(docs, doc, container(doc, workload.get(2)));
            assertThat(env.get("DANMAKU_KAFKA_INGRESS_PARTITIONS")).as("%s's ingress partitions", workload.get(2))
                    .isEqualTo(String.valueOf(ingress));
            assertThat(env.get("DANMAKU_KAFKA_REPLICATION_FACTOR")).as("%s's replication factor", workload.get(2))
                    .isEqualTo(String.valueOf(integer(topics.get(Topics.INGRESS), "spec", "replicas")));
            Map<String, Object> plain = list(ofKind(docs, "Kafka").get(0), "spec", "kafka", "listeners").stream()
                    .map(KubernetesManifestsTest::map).filter(l -> "plain".equals(l.get("name"))).findFirst().orElseThrow();
            assertThat(env.get("DANMAKU_KAFKA_BOOTSTRAP_SERVERS")).as("Strimzi's bootstrap Service")
                    .isEqualTo(cluster + "-kafka-bootstrap:" + plain.get("port"));
        }
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void onlyTheServicesReachKafkaAndOnlyTheGatewaysAreReachable(Path overlay) {
        List<Map<String, Object>> docs = render(overlay);
        Map<String, Object> gatewayLabels = map(map(template(one(docs, "Deployment", "danmaku-gateway")).get("metadata")).get("labels"));
        Map<String, Object> aggregatorLabels = map(map(template(one(docs, "StatefulSet", "danmaku-aggregator")).get("metadata")).get("labels"));
        List<Map<String, Object>> peers = list(ofKind(docs, "Kafka").get(0), "spec", "kafka", "listeners").stream()
                .map(KubernetesManifestsTest::map)
                .flatMap(l -> ((List<?>) Objects.requireNonNull(l.get("networkPolicyPeers"), "networkPolicyPeers of every listener")).stream())
                .map(KubernetesManifestsTest::map).toList();
        assertThat(peers).hasSize(2).allSatisfy(peer -> {
            Map<String, Object> selector = map(map(peer.get("podSelector")).get("matchLabels"));
            assertThat(gatewayLabels.entrySet().containsAll(selector.entrySet())
                    || aggregatorLabels.entrySet().containsAll(selector.entrySet())).as("peer %s selects a service", peer).isTrue();
        });

        Map<String, Object> deny = one(docs, "NetworkPolicy", "default-deny-ingress");
        assertThat(path(deny, "spec", "podSelector")).as("default deny selects every pod").isEqualTo(Map.of());
        for (Map<String, Object> policy : ofKind(docs, "NetworkPolicy")) {
            if (policy == deny || str(policy, "spec", "podSelector", "matchLabels", "strimzi.io/name") != null) {
                continue;
            }
            if ("danmaku-aggregator".equals(str(policy, "spec", "podSelector", "matchLabels", "app.kubernetes.io/name"))) {
                // the aggregators: only their management port (metrics), nothing else
                assertThat(list(policy, "spec", "ingress")).as("%s", id(policy)).singleElement()
                        .satisfies(rule -> assertThat(list(map(rule), "ports")).singleElement()
                                .satisfies(port -> assertThat(map(port).get("port")).isEqualTo("management")));
                continue;
            }
            assertThat(str(policy, "spec", "podSelector", "matchLabels", "app.kubernetes.io/name"))
                    .as("%s opens only the gateways (and the aggregators' management port)", id(policy))
                    .isEqualTo("danmaku-gateway");
        }
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void proxyKeepsWebSocketsAndSseOpenLongerThanTheHeartbeat(Path overlay) {
        List<Map<String, Object>> docs = render(overlay);
        Map<String, String> env = environment(docs, one(docs, "Deployment", "danmaku-gateway"),
                container(one(docs, "Deployment", "danmaku-gateway"), "gateway"));
        Duration heartbeat = ((GatewayProperties) bind("dev.danmaku.gateway", env).get(GatewayProperties.class))
                .heartbeat().timeout();
        boolean sse = false;
        for (Map<String, Object> ingress : ofKind(docs, "Ingress")) {
            Map<String, Object> annotations = map(map(ingress.get("metadata")).get("annotations"));
            for (String timeout : List.of("proxy-read-timeout", "proxy-send-timeout")) {
                Object seconds = annotations.get("nginx.ingress.kubernetes.io/" + timeout);
                assertThat(seconds).as("%s of %s", timeout, id(ingress)).isNotNull();
                assertThat(Duration.ofSeconds(Long.parseLong(seconds.toString())))
                        .as("%s of %s > heartbeat timeout", timeout, id(ingress)).isGreaterThan(heartbeat);
            }
            List<String> paths = list(ingress, "spec", "rules").stream()
                    .flatMap(rule -> list(map(rule), "http", "paths").stream())
                    .map(path -> (String) map(path).get("path")).toList();
            if (paths.contains("/sse")) {
                sse = true;
                assertThat(annotations.get("nginx.ingress.kubernetes.io/proxy-buffering")).isEqualTo("off");
            }
        }
        assertThat(sse).as("an Ingress for /sse without buffering").isTrue();
    }

    @ParameterizedTest
    @MethodSource("overlays")
    void gatewayGracePeriodCoversPreStopDrainAndClose(Path overlay) {
        List<Map<String, Object>> docs = render(overlay);
        Map<String, Object> deployment = one(docs, "Deployment", "danmaku-gateway");
        Map<String, Object> container = container(deployment, "gateway");
        List<?> preStop = list(container, "lifecycle", "preStop", "exec", "command");
        assertThat(preStop).hasSize(2).first().isEqualTo("sleep");
        Duration sleep = Duration.ofSeconds(Long.parseLong(preStop.get(1).toString()));
        GatewayProperties properties = (GatewayProperties) bind("dev.danmaku.gateway",
                environment(docs, deployment, container)).get(GatewayProperties.class);
        Duration grace = Duration.ofSeconds(integer(deployment, "spec", "template", "spec", "terminationGracePeriodSeconds"));
        assertThat(grace).as("terminationGracePeriodSeconds > preStop sleep + drain + close")
                .isGreaterThan(sleep.plus(drainPeriod(properties)).plus(CLOSE_MARGIN));
    }

    @Test
    void prodScalesGatewaysOnCpuAndConnectionsAndProtectsBothServices() {
        List<Map<String, Object>> docs = render(K8S.resolve("overlays/prod"));
        Map<String, Object> hpa = one(docs, "HorizontalPodAutoscaler", "danmaku-gateway");
        assertThat(str(hpa, "spec", "scaleTargetRef", "kind")).isEqualTo("Deployment");
        assertThat(str(hpa, "spec", "scaleTargetRef", "name")).isEqualTo("danmaku-gateway");
        List<Map<String, Object>> metrics = list(hpa, "spec", "metrics").stream().map(KubernetesManifestsTest::map).toList();
        assertThat(metrics).anySatisfy(m -> assertThat(str(m, "resource", "name")).isEqualTo("cpu"));
        assertThat(metrics).anySatisfy(m -> assertThat(str(m, "pods", "metric", "name")).isEqualTo("danmaku_gateway_connections"));
        for (String name : List.of("danmaku-gateway", "danmaku-aggregator")) {
            assertThat(str(one(docs, "PodDisruptionBudget", name), "spec", "selector", "matchLabels", "app.kubernetes.io/name"))
                    .isEqualTo(name);
        }
        for (Map<String, Object> workload : List.of(one(docs, "Deployment", "danmaku-gateway"),
                one(docs, "StatefulSet", "danmaku-aggregator"))) {
            assertThat(list(template(workload), "spec", "topologySpreadConstraints")).as("spread of %s", id(workload)).hasSize(2);
        }
        assertThat(ofKind(docs, "KafkaNodePool").stream()
                .filter(pool -> list(pool, "spec", "roles").contains("broker"))
                .mapToInt(pool -> integer(pool, "spec", "replicas")).sum()).as("brokers").isEqualTo(3);
    }

    @Test
    void devRunsOneOfEachOnAOneNodeKafka() {
        List<Map<String, Object>> docs = render(K8S.resolve("overlays/dev"));
        assertThat(integer(one(docs, "Deployment", "danmaku-gateway"), "spec", "replicas")).isEqualTo(1);
        assertThat(integer(one(docs, "StatefulSet", "danmaku-aggregator"), "spec", "replicas")).isEqualTo(1);
        assertThat(ofKind(docs, "KafkaNodePool")).singleElement()
                .satisfies(pool -> assertThat(integer(pool, "spec", "replicas")).isEqualTo(1));
        assertThat(ofKind(docs, "HorizontalPodAutoscaler")).isEmpty();
    }

    /**
     * The probes, the HPA's metric and the dashboard's metrics against a real gateway started as
     * the pod starts it: Actuator on a management port of its own.
     */
    @Test
    void probePathsAndMetricNamesAreServedByARealGateway() throws Exception {
        ConfigurableApplicationContext gateway = managedGateway();
        int management = gateway.getEnvironment().getRequiredProperty("local.management.port", Integer.class);
        assertThat(management).isNotEqualTo(Cluster.port(gateway));
        assertProbesAndMetrics("http://localhost:" + management);
        assertThat(get("http://localhost:" + Cluster.port(gateway) + "/actuator/health").statusCode())
                .as("no Actuator on the service's port").isEqualTo(404);
    }

    /**
     * A third gateway beside the {@link Cluster}'s, with a management port. Closed only when the
     * JVM exits, like the cluster: closing a gateway's context while others run in the same JVM
     * stops the others from accepting connections too (seen here; Reactor Netty's shared resources).
     */
    private static synchronized ConfigurableApplicationContext managedGateway() {
        if (managedGateway == null) {
            Cluster cluster = Cluster.get();
            ConfigurableApplicationContext gateway = StandaloneLauncher.Services.gateway(cluster.kafka.bootstrapServers())
                    .properties("server.port=0", "management.server.port=0", "danmaku.node-id=gw-k8s",
                            "danmaku.auth.jwt-secret=" + Cluster.JWT_SECRET)
                    .run();
            Runtime.getRuntime().addShutdownHook(new Thread(gateway::close, "k8s-gateway-shutdown"));
            managedGateway = gateway;
        }
        return managedGateway;
    }

    private static void assertProbesAndMetrics(String base) throws Exception {
        Set<String> probePaths = new TreeSet<>();
        for (Path overlay : overlays().toList()) {
            Map<String, Object> gateway = container(one(render(overlay), "Deployment", "danmaku-gateway"), "gateway");
            for (String probe : List.of("startupProbe", "livenessProbe", "readinessProbe")) {
                probePaths.add(Objects.requireNonNull(str(gateway, probe, "httpGet", "path"), probe));
            }
        }
        assertThat(probePaths).contains("/actuator/health/liveness", "/actuator/health/readiness");
        for (String path : probePaths) {
            assertThat(get(base + path).statusCode()).as("GET %s", path).isEqualTo(200);
        }

        Set<String> exported = new TreeSet<>();
        List<String> exportedSeries = new ArrayList<>();
        for (String line : get(base + "/actuator/prometheus").body().split("\n")) {
            if (!line.isBlank() && !line.startsWith("#")) {
                exported.add(line.split("[{ ]", 2)[0]);
                exportedSeries.add(line.substring(0, line.lastIndexOf(' ')));
            }
        }
        assertThat(exported).contains("danmaku_gateway_connections");

        JsonNode dashboard = new ObjectMapper().readTree(
                Files.readString(K8S.resolve("components/monitoring/danmaku-dashboard.json")));
        List<String> expressions = new ArrayList<>();
        for (JsonNode panel : dashboard.path("panels")) {
            for (JsonNode target : panel.path("targets")) {
                expressions.add(target.path("expr").asString());
            }
        }
        Set<String> used = new TreeSet<>();
        Pattern selector = Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)\\{([^}]*)}");
        Map<String, Set<String>> matchers = new TreeMap<>(); // metric -> label matchers
        Runnable collect = () -> {
            for (String expression : expressions) {
                Matcher m = selector.matcher(expression);
                while (m.find()) {
                    used.add(m.group(1));
                    matchers.computeIfAbsent(m.group(1), k -> new TreeSet<>()).add(m.group(2));
                }
            }
            expressions.clear();
        };
        collect.run();
        for (JsonNode variable : dashboard.path("templating").path("list")) {
            Matcher m = Pattern.compile("label_values\\((\\w+),").matcher(variable.path("definition").asString());
            if (m.find()) {
                used.add(m.group(1));
            }
        }
        assertThat(used).as("metrics the dashboard queries").isNotEmpty();
        int fromDashboard = used.size();
        for (Map<String, Object> rules : ofKind(render(K8S.resolve("overlays/prod")), "PrometheusRule")) {
            for (Object group : list(rules, "spec", "groups")) {
                for (Object rule : list(map(group), "rules")) {
                    expressions.add(String.valueOf(map(rule).get("expr")));
                }
            }
        }
        collect.run();
        assertThat(used.size()).as("metrics the alerts query besides the dashboard's").isGreaterThan(fromDashboard);
        assertThat(used).as("the gateway's traffic metrics on the dashboard and in the alerts").contains(
                "danmaku_gateway_deliveries_total", "danmaku_gateway_frames_out_total", "danmaku_gateway_bytes_out_total",
                "danmaku_gateway_drops_total", "danmaku_gateway_latency_seconds_bucket", "danmaku_gateway_consumer_lag",
                "danmaku_gateway_joins_total", "danmaku_gateway_batches_total", "resilience4j_circuitbreaker_state");
        Set<String> missing = used.stream().filter(name -> !exported.contains(name) && !KAFKA_EXPORTER_METRICS.contains(name)
                        && !(name.startsWith("danmaku_aggregator_") && AGREED_AGGREGATOR_METRICS.contains(name)))
                .collect(Collectors.toCollection(TreeSet::new));
        assertThat(missing).as("dashboard and alert metrics the gateway does not export (exported: %s)", exported).isEmpty();

        // and the label values they select (codec="cbor", reason="slow", state=~"open|half_open") exist
        Pattern labelMatcher = Pattern.compile("(\\w+)\\s*(=~|=)\\s*\"([^\"]*)\"");
        for (Map.Entry<String, Set<String>> metric : matchers.entrySet()) {
            if (!exported.contains(metric.getKey())) {
                continue; // not the gateway's (checked above)
            }
            List<String> series = exportedSeries.stream()
                    .filter(s -> s.equals(metric.getKey()) || s.startsWith(metric.getKey() + "{")).toList();
            for (String labels : metric.getValue()) {
                Matcher m = labelMatcher.matcher(labels);
                while (m.find()) {
                    String label = m.group(1);
                    if (TARGET_LABELS.contains(label)) {
                        continue;
                    }
                    Pattern value = Pattern.compile(m.group(2).equals("=") ? Pattern.quote(m.group(3)) : m.group(3));
                    Pattern exportedLabel = Pattern.compile("[{,]" + label + "=\"([^\"]*)\"");
                    assertThat(series).as("%s{%s=\"%s\"} among the gateway's series", metric.getKey(), label, m.group(3))
                            .anySatisfy(s -> {
                                Matcher e = exportedLabel.matcher(s);
                                assertThat(e.find() && value.matcher(e.group(1)).matches()).isTrue();
                            });
                }
            }
        }
    }

    // ---- rendering and reading manifests

    private static List<Map<String, Object>> render(Path overlay) {
        return RENDERED.computeIfAbsent(overlay, KubernetesManifestsTest::kustomize);
    }

    private static List<Map<String, Object>> kustomize(Path overlay) {
        Process process;
        try {
            process = new ProcessBuilder("kubectl", "kustomize", overlay.toString()).redirectErrorStream(false).start();
        } catch (IOException e) {
            return fail("kubectl is needed to render k8s/ (CI machines have it; install kubectl >= 1.27): " + e.getMessage());
        }
        try (InputStream out = process.getInputStream(); InputStream err = process.getErrorStream()) {
            byte[] rendered = out.readAllBytes();
            String errors = new String(err.readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
                return fail("kubectl kustomize " + overlay + " failed: " + errors);
            }
            List<Map<String, Object>> docs = new ArrayList<>();
            for (Object doc : new Yaml(new SafeConstructor(new LoaderOptions())).loadAll(new String(rendered, StandardCharsets.UTF_8))) {
                if (doc != null) {
                    docs.add(map(doc));
                }
            }
            assertThat(docs).as("rendered %s", overlay).isNotEmpty();
            return docs;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } finally {
            process.destroy();
        }
    }

    private static List<Map<String, Object>> ofKind(List<Map<String, Object>> docs, String kind) {
        return docs.stream().filter(d -> kind.equals(d.get("kind"))).toList();
    }

    private static Map<String, Object> one(List<Map<String, Object>> docs, String kind, String name) {
        List<Map<String, Object>> found = ofKind(docs, kind).stream()
                .filter(d -> name.equals(str(d, "metadata", "name"))).toList();
        assertThat(found).as("%s %s", kind, name).hasSize(1);
        return found.get(0);
    }

    private static Map<String, Object> template(Map<String, Object> workload) {
        return map(map(workload.get("spec")).get("template"));
    }

    private static Map<String, Object> container(Map<String, Object> workload, String name) {
        return list(template(workload), "spec", "containers").stream().map(KubernetesManifestsTest::map)
                .filter(c -> name.equals(c.get("name"))).findFirst()
                .orElseThrow(() -> new AssertionError("no container " + name + " in " + id(workload)));
    }

    private static Map<String, Object> envEntry(Map<String, Object> container, String name) {
        return ((List<?>) container.getOrDefault("env", List.of())).stream().map(KubernetesManifestsTest::map)
                .filter(e -> name.equals(e.get("name"))).findFirst()
                .orElseThrow(() -> new AssertionError("no env " + name + " in container " + container.get("name")));
    }

    private static int portNamed(Map<String, Object> container, String name) {
        return ((List<?>) container.get("ports")).stream().map(KubernetesManifestsTest::map)
                .filter(p -> name.equals(p.get("name"))).mapToInt(p -> (Integer) p.get("containerPort"))
                .findFirst().orElseThrow(() -> new AssertionError("no port " + name));
    }

    /**
     * The container's environment as the pod would see it: {@code env} (values, Secrets and
     * ConfigMaps of the render, the downward API's pod name) and {@code envFrom} ConfigMaps.
     */
    private static Map<String, String> environment(List<Map<String, Object>> docs, Map<String, Object> workload,
                                                   Map<String, Object> container) {
        Map<String, String> env = new LinkedHashMap<>();
        for (Object from : (List<?>) container.getOrDefault("envFrom", List.of())) {
            String configMap = str(map(from), "configMapRef", "name");
            assertThat(configMap).as("envFrom of %s: only ConfigMaps", container.get("name")).isNotNull();
            map(one(docs, "ConfigMap", configMap).get("data")).forEach((k, v) -> env.put(k, String.valueOf(v)));
        }
        for (Object entry : (List<?>) container.getOrDefault("env", List.of())) {
            Map<String, Object> e = map(entry);
            String name = (String) e.get("name");
            if (e.containsKey("value")) {
                env.put(name, String.valueOf(e.get("value")));
            } else if (str(e, "valueFrom", "secretKeyRef", "name") != null) {
                String secret = str(e, "valueFrom", "secretKeyRef", "name");
                String key = str(e, "valueFrom", "secretKeyRef", "key");
                List<Map<String, Object>> rendered = ofKind(docs, "Secret").stream()
                        .filter(s -> secret.equals(str(s, "metadata", "name"))).toList();
                // a Secret not in the render is created by the operator (docs/deploy.md)
                env.put(name, rendered.isEmpty() ? "a-secret-of-at-least-32-bytes-created-by-hand"
                        : new String(Base64.getDecoder().decode(str(rendered.get(0), "data", key)), StandardCharsets.UTF_8));
            } else if (str(e, "valueFrom", "configMapKeyRef", "name") != null) {
                env.put(name, String.valueOf(map(one(docs, "ConfigMap", str(e, "valueFrom", "configMapKeyRef", "name"))
                        .get("data")).get(str(e, "valueFrom", "configMapKeyRef", "key"))));
            } else if ("metadata.name".equals(str(e, "valueFrom", "fieldRef", "fieldPath"))) {
                String workloadName = str(workload, "metadata", "name");
                env.put(name, "StatefulSet".equals(workload.get("kind"))
                        ? workloadName + "-" + (integer(workload, "spec", "replicas") - 1)
                        : workloadName + "-5d9c7b8f4d-x2x7q");
            } else {
                fail("env " + name + ": a source this test does not resolve: " + e);
            }
        }
        return env;
    }

    // ---- the application's configuration

    /** The {@code @ConfigurationProperties} classes of a service's packages. */
    private static List<Class<?>> propertiesClasses(String basePackage) {
        ClassPathScanningCandidateComponentProvider scanner = new ClassPathScanningCandidateComponentProvider(false);
        scanner.addIncludeFilter(new AnnotationTypeFilter(ConfigurationProperties.class));
        List<Class<?>> classes = new ArrayList<>();
        for (BeanDefinition candidate : scanner.findCandidateComponents(basePackage)) {
            try {
                classes.add(Class.forName(candidate.getBeanClassName()));
            } catch (ClassNotFoundException e) {
                throw new IllegalStateException(e);
            }
        }
        assertThat(classes).as("@ConfigurationProperties in %s", basePackage).isNotEmpty();
        return classes;
    }

    private static String prefix(Class<?> type) {
        ConfigurationProperties annotation = type.getAnnotation(ConfigurationProperties.class);
        return annotation.prefix().isEmpty() ? annotation.value() : annotation.prefix();
    }

    /** Canonical names (kebab-case) of every leaf property of a service's configuration records. */
    private static Set<String> propertyNames(String basePackage) {
        Set<String> names = new TreeSet<>();
        for (Class<?> type : propertiesClasses(basePackage)) {
            collect(prefix(type), type, names);
        }
        return names;
    }

    private static void collect(String prefix, Class<?> type, Set<String> names) {
        for (RecordComponent component : type.getRecordComponents()) {
            String name = prefix + "." + component.getName().replaceAll("([a-z0-9])([A-Z])", "$1-$2").toLowerCase();
            if (component.getType().isRecord()) {
                collect(name, component.getType(), names);
            } else {
                names.add(name);
            }
        }
    }

    /**
     * Each variable sets exactly one property of the service's own records ({@code DANMAKU_*}),
     * or a property Spring Boot documents (anything else but the JVM's own variables).
     */
    private static void assertNamesAreProperties(String service, Map<String, String> env, Set<String> properties) {
        for (String variable : env.keySet()) {
            if (JVM_VARIABLES.contains(variable)) {
                continue;
            }
            ConfigurationPropertySource source = ConfigurationPropertySource.from(new SystemEnvironmentPropertySource(
                    StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME, Map.of(variable, env.get(variable))));
            if (variable.startsWith("DANMAKU_")) {
                List<String> matches = properties.stream()
                        .filter(p -> source.getConfigurationProperty(ConfigurationPropertyName.of(p)) != null).toList();
                assertThat(matches).as("%s: environment variable %s sets a property of the service (known: %s)",
                        service, variable, properties).hasSize(1);
            } else {
                List<ConfigurationPropertyName> mapped = ((IterableConfigurationPropertySource) source).stream().toList();
                boolean property = SPRING_PROPERTIES.stream().anyMatch(p -> ConfigurationPropertyName.isValid(p)
                        && source.getConfigurationProperty(ConfigurationPropertyName.of(p)) != null);
                boolean mapEntry = SPRING_MAP_PROPERTIES.stream().filter(ConfigurationPropertyName::isValid)
                        .map(ConfigurationPropertyName::of).anyMatch(m -> mapped.stream().anyMatch(m::isAncestorOf));
                assertThat(property || mapEntry).as("%s: environment variable %s sets a Spring Boot property", service, variable)
                        .isTrue();
            }
        }
    }

    private static Set<String> springPropertyNames(boolean mapsOnly) {
        Set<String> names = new TreeSet<>();
        try {
            var resources = KubernetesManifestsTest.class.getClassLoader().getResources("META-INF/spring-configuration-metadata.json");
            while (resources.hasMoreElements()) {
                try (InputStream in = resources.nextElement().openStream()) {
                    for (JsonNode property : new ObjectMapper().readTree(in).path("properties")) {
                        if (!mapsOnly || property.path("type").asString("").startsWith("java.util.Map")) {
                            names.add(property.path("name").asString());
                        }
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return names;
    }

    /** Every configuration record of a service, bound from this environment (defaults elsewhere). */
    private static Map<Class<?>, Object> bind(String basePackage, Map<String, String> env) {
        Binder binder = new Binder(ConfigurationPropertySources.from(
                new SystemEnvironmentPropertySource(StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME, new LinkedHashMap<>(env))),
                null, ApplicationConversionService.getSharedInstance());
        Map<Class<?>, Object> bound = new LinkedHashMap<>();
        for (Class<?> type : propertiesClasses(basePackage)) {
            bound.put(type, binder.bindOrCreate(prefix(type), type));
        }
        return bound;
    }

    /** {@code danmaku.drain.period} once the gateway has it (a record {@code drain} with {@code period}). */
    private static Duration drainPeriod(GatewayProperties properties) {
        for (RecordComponent component : GatewayProperties.class.getRecordComponents()) {
            if (component.getName().equals("drain") && component.getType().isRecord()) {
                try {
                    Object drain = component.getAccessor().invoke(properties);
                    for (RecordComponent inner : drain.getClass().getRecordComponents()) {
                        if (inner.getName().equals("period")) {
                            return (Duration) inner.getAccessor().invoke(drain);
                        }
                    }
                } catch (ReflectiveOperationException e) {
                    throw new IllegalStateException(e);
                }
            }
        }
        return DRAIN_PERIOD_DEFAULT;
    }

    // ---- Dockerfiles

    private static List<Integer> dockerfileExpose(String module) throws IOException {
        return Stream.of(dockerfileInstruction(module, "EXPOSE").split("\\s+"))
                .map(port -> Integer.parseInt(port.split("/")[0])).toList();
    }

    private static String dockerfileUser(String module) throws IOException {
        String user = dockerfileInstruction(module, "USER").split(":")[0];
        assertThat(user).as("USER of %s/Dockerfile: numeric, not root", module).matches("[1-9][0-9]*");
        return user;
    }

    private static String dockerfileInstruction(String module, String instruction) throws IOException {
        List<String> values = Files.readAllLines(REPO.resolve(module).resolve("Dockerfile")).stream()
                .filter(line -> line.startsWith(instruction + " "))
                .map(line -> line.substring(instruction.length() + 1).trim()).toList();
        assertThat(values).as("%s in %s/Dockerfile", instruction, module).hasSize(1);
        return values.get(0);
    }

    // ---- small helpers

    private static HttpResponse<String> get(String url) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object value) {
        return value == null ? Map.of() : (Map<String, Object>) value;
    }

    private static Object path(Map<String, Object> doc, String... keys) {
        Object value = doc;
        for (String key : keys) {
            if (!(value instanceof Map<?, ?> m)) {
                return null;
            }
            value = m.get(key);
        }
        return value;
    }

    private static String str(Map<String, Object> doc, String... keys) {
        Object value = path(doc, keys);
        return value == null ? null : value.toString();
    }

    private static int integer(Map<String, Object> doc, String... keys) {
        Object value = path(doc, keys);
        assertThat(value).as(String.join(".", keys)).isInstanceOf(Integer.class);
        return (Integer) value;
    }

    private static List<?> list(Map<String, Object> doc, String... keys) {
        Object value = path(doc, keys);
        return value == null ? List.of() : (List<?>) value;
    }

    private static String id(Map<String, Object> doc) {
        return doc.get("kind") + " " + str(doc, "metadata", "name");
    }
}
