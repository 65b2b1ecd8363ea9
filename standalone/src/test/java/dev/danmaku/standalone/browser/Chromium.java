package dev.danmaku.standalone.browser;

import com.microsoft.playwright.Browser;
import com.microsoft.playwright.BrowserContext;
import com.microsoft.playwright.BrowserType;
import com.microsoft.playwright.Page;
import com.microsoft.playwright.Playwright;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Debian's headless Chromium ({@code /usr/bin/chromium}, which {@code .ci/run} installs) driven by
 * Playwright, for one test class: {@link #open} gives each simulated person a browser context of
 * their own (own localStorage, so own sign-in). Not thread-safe, as Playwright is not.
 *
 * <p>A JUnit extension: {@code @RegisterExtension static final Chromium chromium = new Chromium();}
 * launches the browser before the class's tests (and its own {@code @BeforeAll}) and closes it after.
 */
final class Chromium implements AutoCloseable, BeforeAllCallback, AfterAllCallback {

    static final Path CHROMIUM = Path.of(System.getProperty("danmaku.chromium", "/usr/bin/chromium"));
    static final Path SCREENSHOTS = Path.of("target", "screenshots");

    private final List<BrowserContext> contexts = new CopyOnWriteArrayList<>();
    private Playwright playwright;
    private Browser browser;

    @Override
    public void beforeAll(ExtensionContext context) {
        launch();
    }

    @Override
    public void afterAll(ExtensionContext context) {
        close();
    }

    private void launch() {
        if (!Files.isExecutable(CHROMIUM)) {
            throw new IllegalStateException(CHROMIUM + " is missing: install Debian's chromium (.ci/run does)");
        }
        playwright = Playwright.create(new Playwright.CreateOptions()
                .setEnv(Map.of("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")));
        browser = playwright.chromium().launch(new BrowserType.LaunchOptions()
                .setExecutablePath(CHROMIUM)
                .setHeadless(true)
                .setArgs(List.of("--no-sandbox", "--disable-gpu", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync", "--no-first-run")));
    }

    /**
     * A page in a new context; with a token, the page finds it stored as the pages store a
     * sign-in ({@code localStorage["danmaku.token.<key>"]}) before any of its scripts run.
     */
    Page open(String url, String tokenKey, SignIn who) {
        return open(url, "localStorage.setItem(" + js("danmaku.token." + tokenKey) + ", "
                + js("{\"token\":\"" + who.token() + "\",\"user\":" + who.userJson() + "}") + ");");
    }

    /** A page in a new context, with a script that runs before the page's own (or null). */
    Page open(String url, String initScript) {
        if (browser == null) { // used without the extension: launch on first use (close() then is the caller's)
            launch();
        }
        BrowserContext context = browser.newContext(new Browser.NewContextOptions().setViewportSize(1280, 800));
        contexts.add(context);
        if (initScript != null) {
            context.addInitScript(initScript);
        }
        Page page = context.newPage();
        page.onConsoleMessage(message -> {
            if ("error".equals(message.type())) {
                System.err.println("[browser console] " + message.text());
            }
        });
        page.navigate(url);
        return page;
    }

    Page open(String url) {
        return open(url, (String) null);
    }

    /** Saves a screenshot of the page as {@code target/screenshots/<name>.png}. */
    static Path screenshot(Page page, String name) {
        Path file = SCREENSHOTS.resolve(name + ".png");
        page.screenshot(new Page.ScreenshotOptions().setPath(file));
        return file;
    }

    static String js(String value) {
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'";
    }

    @Override
    public void close() {
        if (playwright == null) {
            return;
        }
        for (BrowserContext context : contexts) {
            context.close();
        }
        contexts.clear();
        browser.close();
        playwright.close();
        playwright = null;
        browser = null;
    }
}
