// Sends a bounded burst of GETs with OkHttp or Apache HttpClient 5, built from an emitted
// settings file (or the library's defaults), and prints one JSON line of counts and latencies.
// See drivers/README.md for the arguments and the output. Run as a single-file program:
// java -cp okhttp.jar:okio.jar:httpclient5.jar:httpcore5.jar:... Driver.java ARGS

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

public class Driver {
    interface Get {
        /** The status and the x-envoy-overloaded header of one GET; the body read to its end. */
        String[] get(String url) throws Exception;
    }

    /** The flat YAML `plan --emit` writes: `key: value  # comment`, scalars and lists. */
    static final class Settings {
        final Map<String, String> values = new HashMap<>();
        final Set<String> used = new HashSet<>();

        Settings(String path, String library) throws Exception {
            if (path == null) {
                return;
            }
            for (String raw : Files.readAllLines(Path.of(path))) {
                String line = raw.replaceAll("\\s+#.*$", "").replaceAll("^#.*$", "").trim();
                if (line.isEmpty()) {
                    continue;
                }
                int at = line.indexOf(':');
                values.put(line.substring(0, at).trim(), line.substring(at + 1).trim());
            }
            String named = values.remove("library");
            if (named != null && !named.equals(library)) {
                throw new IllegalArgumentException(path + " is not a " + library + " file");
            }
        }

        boolean has(String key) {
            used.add(key);
            return values.containsKey(key);
        }

        int integer(String key) {
            return Integer.parseInt(values.get(key));
        }

        boolean bool(String key) {
            return Boolean.parseBoolean(values.get(key));
        }

        /** A Go-style duration (`1m30s`, `250ms`) in milliseconds. */
        long millis(String key) {
            Matcher m = Pattern.compile("(\\d+(?:\\.\\d+)?)(h|ms|m|s|us|µs|ns)").matcher(values.get(key));
            double ms = 0;
            while (m.find()) {
                double n = Double.parseDouble(m.group(1));
                switch (m.group(2)) {
                    case "h": ms += n * 3_600_000; break;
                    case "m": ms += n * 60_000; break;
                    case "s": ms += n * 1000; break;
                    case "ms": ms += n; break;
                    case "us": case "µs": ms += n / 1000; break;
                    default: ms += n / 1_000_000;
                }
            }
            return (long) ms;
        }

        List<String> list(String key) {
            String text = values.get(key).replaceAll("[\\[\\]\\s]", "");
            return text.isEmpty() ? List.of() : List.of(text.split(","));
        }

        void check() {
            Set<String> left = new HashSet<>(values.keySet());
            left.removeAll(used);
            if (!left.isEmpty()) {
                throw new IllegalArgumentException("the driver does not apply " + left);
            }
        }
    }

    static Get okhttp(Settings s) {
        okhttp3.Dispatcher dispatcher = new okhttp3.Dispatcher();
        if (s.has("maxRequests")) {
            dispatcher.setMaxRequests(s.integer("maxRequests"));
        }
        if (s.has("maxRequestsPerHost")) {
            dispatcher.setMaxRequestsPerHost(s.integer("maxRequestsPerHost"));
        }
        okhttp3.OkHttpClient.Builder b = new okhttp3.OkHttpClient.Builder().dispatcher(dispatcher);
        boolean idle = s.has("maxIdleConnections");
        boolean keepAlive = s.has("keepAliveDuration");
        if (idle || keepAlive) {
            // ConnectionPool() is (5, 5, MINUTES): the defaults for what the file leaves out.
            int max = idle ? s.integer("maxIdleConnections") : 5;
            long keep = keepAlive ? s.millis("keepAliveDuration") : 300_000;
            b.connectionPool(new okhttp3.ConnectionPool(max, keep, TimeUnit.MILLISECONDS));
        }
        if (s.has("connectTimeout")) {
            b.connectTimeout(s.millis("connectTimeout"), TimeUnit.MILLISECONDS);
        }
        if (s.has("retryOnConnectionFailure")) {
            b.retryOnConnectionFailure(s.bool("retryOnConnectionFailure"));
        }
        if (s.has("protocols")) {
            List<okhttp3.Protocol> protocols = new ArrayList<>();
            for (String p : s.list("protocols")) {
                protocols.add(okhttp3.Protocol.valueOf(p));
            }
            b.protocols(protocols);
        }
        if (s.has("overloadRetries")) {
            int retries = s.integer("overloadRetries");
            // The interceptor the snippet writes: idempotent requests the sidecar refused are
            // sent again after 25 ms, then twice as long.
            b.addInterceptor(chain -> {
                okhttp3.Request request = chain.request();
                okhttp3.Response response = chain.proceed(request);
                for (int attempt = 0; attempt < retries && response.code() == 503
                        && "true".equals(response.header("x-envoy-overloaded"))
                        && List.of("GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE").contains(request.method());
                        attempt++) {
                    response.close();
                    try {
                        Thread.sleep(25L << attempt);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new java.io.InterruptedIOException();
                    }
                    response = chain.proceed(request);
                }
                return response;
            });
        }
        s.check();
        okhttp3.OkHttpClient client = b.build();
        // Calls go through the dispatcher (enqueue), whose limits bound them; a caller waits
        // for its answer before sending the next.
        return url -> {
            CompletableFuture<String[]> done = new CompletableFuture<>();
            client.newCall(new okhttp3.Request.Builder().url(url).build()).enqueue(new okhttp3.Callback() {
                @Override
                public void onFailure(okhttp3.Call call, java.io.IOException e) {
                    done.completeExceptionally(e);
                }

                @Override
                public void onResponse(okhttp3.Call call, okhttp3.Response response) throws java.io.IOException {
                    String[] answer;
                    try (response) {
                        response.body().bytes();
                        answer = new String[] {
                            String.valueOf(response.code()), response.header("x-envoy-overloaded")
                        };
                    }
                    // Only once the response is closed is its connection back in the pool: a
                    // caller woken earlier sends its next call before that, and OkHttp opens a
                    // new connection for it (to a sidecar worker that may hold no upstream one).
                    done.complete(answer);
                }
            });
            return done.get();
        };
    }

    static Get httpclient5(Settings s) {
        var cm = org.apache.hc.client5.http.impl.io.PoolingHttpClientConnectionManagerBuilder.create();
        if (s.has("maxTotal")) {
            cm.setMaxConnTotal(s.integer("maxTotal"));
        }
        if (s.has("defaultMaxPerRoute")) {
            cm.setMaxConnPerRoute(s.integer("defaultMaxPerRoute"));
        }
        var config = org.apache.hc.client5.http.config.ConnectionConfig.custom();
        if (s.has("connectTimeout")) {
            config.setConnectTimeout(org.apache.hc.core5.util.Timeout.ofMilliseconds(s.millis("connectTimeout")));
        }
        if (s.has("timeToLive")) {
            config.setTimeToLive(org.apache.hc.core5.util.TimeValue.ofMilliseconds(s.millis("timeToLive")));
        }
        cm.setDefaultConnectionConfig(config.build());
        var b = org.apache.hc.client5.http.impl.classic.HttpClients.custom().setConnectionManager(cm.build());
        if (s.has("evictIdleConnections")) {
            b.evictIdleConnections(org.apache.hc.core5.util.TimeValue.ofMilliseconds(s.millis("evictIdleConnections")));
        }
        if (s.has("maxRetries") || s.has("retryInterval")) {
            // DefaultHttpRequestRetryStrategy() is (1, 1 second): the defaults for what the
            // file leaves out.
            int retries = s.has("maxRetries") ? s.integer("maxRetries") : 1;
            long interval = s.has("retryInterval") ? s.millis("retryInterval") : 1000;
            b.setRetryStrategy(new org.apache.hc.client5.http.impl.DefaultHttpRequestRetryStrategy(
                retries, org.apache.hc.core5.util.TimeValue.ofMilliseconds(interval)));
        }
        if (s.has("http2") && s.bool("http2")) {
            throw new IllegalArgumentException("the classic client speaks HTTP/1.1 only");
        }
        s.check();
        var client = b.build();
        return url -> client.execute(new org.apache.hc.client5.http.classic.methods.HttpGet(url), response -> {
            org.apache.hc.core5.http.io.entity.EntityUtils.consume(response.getEntity());
            var header = response.getFirstHeader("x-envoy-overloaded");
            return new String[] {String.valueOf(response.getCode()), header == null ? null : header.getValue()};
        });
    }

    /**
     * `requests` GETs from `concurrency` callers, until they or `limit` seconds run out; the
     * latency of each 2xx in whole microseconds. The callers' threads are started first and
     * released together (starting one is the driver's work, not the client's), and each
     * caller's first request is timed from then. Returns that start.
     */
    static long burst(Get get, String url, int concurrency, int requests, double limit,
            List<Long> okUs, AtomicInteger overflow, AtomicInteger errors) throws InterruptedException {
        AtomicInteger left = new AtomicInteger(requests);
        CountDownLatch go = new CountDownLatch(1);
        // Written before the latch opens, read after it: the latch orders them.
        long[] start = new long[1];
        List<Thread> callers = new ArrayList<>();
        for (int c = 0; c < concurrency; c++) {
            Thread t = new Thread(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    return;
                }
                long began = start[0];
                long deadline = began + (long) (limit * 1e9);
                while (System.nanoTime() < deadline && left.getAndDecrement() > 0) {
                    String[] answer;
                    try {
                        answer = get.get(url);
                    } catch (Exception e) {
                        answer = new String[] {"0", null};
                    }
                    long now = System.nanoTime();
                    int status = Integer.parseInt(answer[0]);
                    if (status >= 200 && status < 300) {
                        okUs.add(Math.max(1, (now - began) / 1000));
                    } else if (status == 503 && "true".equals(answer[1])) {
                        overflow.incrementAndGet();
                    } else {
                        errors.incrementAndGet();
                    }
                    began = now;
                }
            });
            t.start();
            callers.add(t);
        }
        start[0] = System.nanoTime();
        go.countDown();
        for (Thread t : callers) {
            t.join();
        }
        return start[0];
    }

    public static void main(String[] argv) throws Exception {
        Map<String, String> args = new HashMap<>();
        for (int i = 0; i + 1 < argv.length; i += 2) {
            args.put(argv[i].replaceFirst("^--", ""), argv[i + 1]);
        }
        String library = args.get("library");
        Settings s = new Settings(args.get("settings"), library);
        Get get = switch (library) {
            case "okhttp" -> okhttp(s);
            case "httpclient5" -> httpclient5(s);
            default -> throw new IllegalArgumentException("unknown library " + library);
        };
        String url = args.get("url");
        int concurrency = Integer.parseInt(args.get("concurrency"));
        double limit = Double.parseDouble(args.get("time-limit"));
        List<Long> okUs = Collections.synchronizedList(new ArrayList<>());
        AtomicInteger overflow = new AtomicInteger();
        AtomicInteger errors = new AtomicInteger();
        // A warm-up with the same client, not counted; then the burst, timed from its start.
        int warmup = Integer.parseInt(args.getOrDefault("warmup", "0"));
        if (warmup > 0) {
            burst(get, url, concurrency, warmup, limit, Collections.synchronizedList(new ArrayList<>()),
                new AtomicInteger(), new AtomicInteger());
            // Tell the bench, which reads Envoy's counters now, and wait for its go.
            System.out.println("warm");
            System.out.flush();
            new java.io.BufferedReader(new java.io.InputStreamReader(System.in)).readLine();
        }
        long started = burst(get, url, concurrency, Integer.parseInt(args.get("requests")), limit, okUs,
            overflow, errors);
        double elapsed = (System.nanoTime() - started) / 1e9;
        // The bench reads the quantiles from the latencies, as for its own clients.
        String latencies = okUs.stream().map(String::valueOf).collect(Collectors.joining(","));
        System.out.printf(java.util.Locale.ROOT,
            "{\"ok_us\": [%s], \"overflow\": %d, \"errors\": %d, \"elapsed_s\": %.6f}%n",
            latencies, overflow.get(), errors.get(), elapsed);
        System.exit(0);
    }
}
