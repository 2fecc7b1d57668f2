// The browser suite: the real cgihost binary serving www/ and the sample programs, and Debian's
// Chromium, driven by playwright-core, using every sample the way a person would: typing into
// forms, ticking boxes, uploading and downloading a file, chatting from two browsers at once.
//
// Run by `meson test --suite e2e`, which sets:
//   CGIHOST_BIN          the cgihost binary
//   CGIHOST_WWW_DIR      the docroot (the source tree's www/)
//   CGIHOST_SAMPLES_DIR  the built sample programs (<build>/cgi-bin)
//   CGIHOST_E2E_OUT      where screenshots go (created if missing)
// and optionally CGIHOST_CHROMIUM (default /usr/bin/chromium). scripts/install-deps --test
// installs Chromium and tests/e2e/node_modules; no browser is ever downloaded. A browser that
// cannot start fails every test: this suite is never skipped.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { after, describe, test } from "node:test";

const CHROMIUM = process.env.CGIHOST_CHROMIUM || "/usr/bin/chromium";
const CHROMIUM_ARGS = [
    "--no-sandbox", "--headless", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-proxy-server",  // loopback only: never a proxy from the environment
];
const CHAT_WAIT_SECONDS = 3;   // chat's long poll answers "nothing new" after this long
const JOB_SECONDS = 5;         // how long background's job takes
// Every wait below is a hang guard, never the property under test: under load (a soak or a
// build beside us on two shared cores) any one step may take seconds. Speed is for bench/.
const HANG_GUARD_MS = 60_000;
const SERVER_START_MS = HANG_GUARD_MS;
const SERVER_STOP_MS = HANG_GUARD_MS;
const STEP_TIMEOUT_MS = HANG_GUARD_MS;  // any one browser action or wait
const TEST_TIMEOUT_MS = 4 * HANG_GUARD_MS;
const STATUS_URL = "/server-status";  // --status-url: the live status page and its chart

function requiredEnv(name) {
    const value = process.env[name];
    if (!value) throw new Error(`${name} is not set: run this suite with meson test --suite e2e`);
    return resolve(value);
}

const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");

// ---- The server -----------------------------------------------------------------------------

// A self-signed certificate for 127.0.0.1 made with the openssl command (the browser is told to
// accept it: it is the server's TLS that is under test here, not the browser's trust store).
async function makeCertificate(workDir) {
    const cert = join(workDir, "cert.pem");
    const key = join(workDir, "key.pem");
    const result = spawnSync("openssl", [
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        "-keyout", key, "-out", cert,
    ], { encoding: "utf8" });
    if (result.status !== 0) {
        throw new Error(`openssl could not make a certificate: ${result.stderr || result.error}`);
    }
    await chmod(key, 0o600);
    return { cert, key };
}

// Starts cgihost on a free port and resolves with { child, baseUrl } once it prints the
// address it bound for `scheme` ("http", or "https" with `tls` = { cert, key }); rejects if it
// exits or stays silent first.
function startServer(workDir, dataDir, scheme, tls) {
    const listen = scheme === "https"
        ? ["--listen", "127.0.0.1:0", "--listen-tls", "127.0.0.1:0",
           "--tls-cert", tls.cert, "--tls-key", tls.key]
        : ["--listen", "127.0.0.1:0"];
    const args = [
        ...listen,
        "--docroot", requiredEnv("CGIHOST_WWW_DIR"),
        "--cgi-dir", requiredEnv("CGIHOST_SAMPLES_DIR"),
        "--cgi-env-set", `CGIHOST_DATA_DIR=${dataDir}`,
        "--cgi-env-set", `CGIHOST_CHAT_WAIT=${CHAT_WAIT_SECONDS}`,
        "--cgi-env-set", `CGIHOST_JOB_SECONDS=${JOB_SECONDS}`,
        "--access-log", join(workDir, "access.log"),
        "--shutdown-grace", "2",
        "--status-url", STATUS_URL,
    ];
    // stderr (the error log) goes to ours, where meson keeps it for a failed run.
    const child = spawn(requiredEnv("CGIHOST_BIN"), args, { stdio: ["ignore", "pipe", "inherit"] });
    return new Promise((resolveStart, rejectStart) => {
        const timer = setTimeout(() => {
            child.kill("SIGKILL");
            rejectStart(new Error(`cgihost printed no address in ${SERVER_START_MS} ms`));
        }, SERVER_START_MS);
        const fail = (error) => {
            clearTimeout(timer);
            rejectStart(error);
        };
        child.once("error", fail);
        child.once("exit", (code, signal) =>
            fail(new Error(`cgihost exited at startup (${code ?? signal})`)));
        // Keep reading stdout to its end, so the server can never block on a full pipe.
        createInterface({ input: child.stdout }).on("line", (line) => {
            const match = /^cgihost: listening on ((https?):\/\/127\.0\.0\.1:\d+)\/$/.exec(line);
            if (match && match[2] === scheme) {
                clearTimeout(timer);
                resolveStart({ child, baseUrl: match[1] });
            }
        });
    });
}

async function stopServer(child) {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((done) => child.once("exit", done));
    child.kill("SIGTERM");
    // --shutdown-grace 2 lets it finish in-flight requests; past that it is stuck.
    const timer = setTimeout(() => child.kill("SIGKILL"), SERVER_STOP_MS);
    await exited;
    clearTimeout(timer);
}

// ---- The suite ------------------------------------------------------------------------------

// Every scenario runs twice: over plain HTTP and over HTTPS (its own server and browser each).
for (const scheme of ["http", "https"]) describe(`cgihost in Chromium over ${scheme}`,
                                                 { concurrency: 1 }, () => {
    let workDir;
    let server;
    let browser;
    let outDir;
    let baseUrl;

    // The server and the browser start once, in the first scenario; should either fail, every
    // scenario fails with that error (counted as failures, not as skipped or cancelled tests).
    let setUp;
    function ensureSetUp() {
        setUp ??= (async () => {
            outDir = requiredEnv("CGIHOST_E2E_OUT");
            await mkdir(outDir, { recursive: true });
            workDir = await mkdtemp(join(tmpdir(), "cgihost-e2e-"));
            const dataDir = join(workDir, "data");
            await mkdir(dataDir);
            // Started as root, cgihost serves as www-data and runs the samples as another
            // user (README, "Least privilege"): both must reach the work dir, and the samples
            // write their data.
            await chmod(workDir, 0o755);
            await chmod(dataDir, 0o1777);
            const tls = scheme === "https" ? await makeCertificate(workDir) : undefined;
            server = await startServer(workDir, dataDir, scheme, tls);
            baseUrl = server.baseUrl;
            // Should this process die before `after` runs, the server still goes with it.
            process.on("exit", () => server.child.kill("SIGKILL"));
            console.log(`# cgihost ${process.env.CGIHOST_BIN} at ${baseUrl}/, data in ${dataDir}`);
            browser = await launchChromium(workDir);
            console.log(`# ${CHROMIUM} ${browser.version()}`);
        })();
        return setUp;
    }

    after(async () => {
        await browser?.close().catch(() => {});
        if (server) await stopServer(server.child);
        if (workDir) await rm(workDir, { recursive: true, force: true });
    });

    // Each scenario gets a fresh context (its own cookies), and a screenshot when it fails.
    function scenario(name, body) {
        test(name, { timeout: TEST_TIMEOUT_MS }, async () => {
            await ensureSetUp();
            const context = await newContext();
            const page = await context.newPage();
            try {
                await body(page, context);
            } catch (error) {
                const file = join(outDir,
                                  `failed-${scheme}-${name.replace(/[^a-z0-9]+/gi, "-")}.png`);
                await page.screenshot({ path: file, fullPage: true }).catch(() => {});
                console.log(`# screenshot of the failure: ${file}`);
                throw error;
            } finally {
                await context.close();
            }
        });
    }

    async function newContext() {
        const context = await browser.newContext(
            { baseURL: baseUrl, acceptDownloads: true, ignoreHTTPSErrors: scheme === "https" });
        context.setDefaultTimeout(STEP_TIMEOUT_MS);
        return context;
    }

    async function screenshot(page, name) {
        const file = join(outDir, `${scheme}-${name}`);
        await page.screenshot({ path: file, fullPage: true });
        console.log(`# screenshot: ${file}`);
        return file;
    }

    // ---- Static pages ----

    scenario("the start page shows the logo and links to every sample", async (page) => {
        const logoResponse = page.waitForResponse((r) => r.url() === `${baseUrl}/logo.svg`);
        const response = await page.goto("/");
        assert.equal(response.status(), 200);
        if (scheme === "https") {
            const tls = await response.securityDetails();
            assert.match(tls?.protocol ?? "", /^TLS 1\.[23]$/, "the page came over TLS 1.2 or 1.3");
            console.log(`# ${tls.protocol}, certificate for ${tls.subjectName}`);
        }
        assert.equal(await page.title(), "cgihost");
        const logo = await logoResponse;
        assert.equal(logo.status(), 200);
        assert.match(logo.headers()["content-type"], /^image\/svg\+xml/);
        const drawn = await page.locator(".intro img").evaluate(
            (img) => img.complete && img.naturalWidth > 0);
        assert.ok(drawn, "the logo image was not drawn");

        const samples = {
            hello: "/cgi-bin/hello", env: "/cgi-bin/env", hello_get: "/hello_get.html",
            checkbox: "/checkbox.html", radio: "/radio.html", textarea: "/textarea.html",
            dropdown: "/dropdown.html", upload: "/upload.html", cookies: "/cgi-bin/cookies",
            redirect: "/cgi-bin/redirect", download: "/cgi-bin/download", chat: "/chat.html",
            background: "/background.html", "hello.sh": "/cgi-bin/hello.sh?name=Ada",
            "hello.py": "/cgi-bin/hello.py?name=Ada",
        };
        for (const [name, href] of Object.entries(samples)) {
            const link = page.getByRole("link", { name, exact: true });
            assert.equal(await link.count(), 1, `one link named ${name}`);
            assert.equal(await link.getAttribute("href"), href);
            const target = await page.request.get(href);
            assert.equal(target.status(), 200, `${href} answers 200`);
        }
        await screenshot(page, "start-page.png");

        // And one of them followed by a click, as a reader would.
        await clickAndLoad(page, page.getByRole("link", { name: "hello", exact: true }));
        assert.equal(new URL(page.url()).pathname, "/cgi-bin/hello");
        assert.equal(await page.locator("h1").textContent(), "Hello, world!");
    });

    // ---- The live status page (--status-url) ----

    // Only this scenario: node --test-name-pattern "status page" tests/e2e/run-e2e.mjs
    scenario("the status page charts the traffic and shows the numbers of its JSON",
             async (page) => {
        const STATIC_REQUESTS = 12;
        const SCRIPT_REQUESTS = 6;
        const before = await (await page.request.get(`${STATUS_URL}?json`)).json();
        const helloBefore = before.scripts.find((s) => s.name === "/cgi-bin/hello")?.requests ?? 0;
        for (let i = 0; i < STATIC_REQUESTS; ++i) {
            assert.equal((await page.request.get("/")).status(), 200);
        }
        for (let i = 0; i < SCRIPT_REQUESTS; ++i) {
            assert.equal((await page.request.get("/cgi-bin/hello")).status(), 200);
        }
        const response = await page.goto(STATUS_URL);
        assert.equal(response.status(), 200);
        assert.match(response.headers()["content-security-policy"], /default-src 'none'/);
        // The history gains a sample a second; wait until the chart has a few of them and a
        // latency point (some second had a script end), drawn by at least two polls.
        await page.waitForFunction(() => {
            const count = (id) => document.getElementById(id).getAttribute("points")
                .trim().split(/\s+/).filter(Boolean).length;
            return Number(document.body.dataset.polls) >= 2 && count("rps-line") >= 5 &&
                count("latency-line") >= 1;
        }, null, { timeout: STEP_TIMEOUT_MS });
        const rpsPoints = await page.locator("#rps-line").getAttribute("points");
        assert.ok(rpsPoints.trim().split(/\s+/).length >= 5, rpsPoints);

        // What the page shows for the script is what the JSON says (no hello traffic since).
        const json = await (await page.request.get(`${STATUS_URL}?json`)).json();
        const hello = json.scripts.find((s) => s.name === "/cgi-bin/hello");
        assert.equal(hello.requests, helloBefore + SCRIPT_REQUESTS);
        const row = page.locator("#scripts tr", { hasText: "/cgi-bin/hello" });
        assert.equal(await row.locator("td").nth(1).textContent(), String(hello.requests));
        assert.equal(await page.locator("#version").textContent(), json.version);
        assert.equal(await page.locator("#workers").textContent(), String(json.workers));
        const shownTwoXx = Number(await page.locator("#class-2xx").textContent());
        assert.ok(shownTwoXx >= STATIC_REQUESTS + SCRIPT_REQUESTS, `2xx shown: ${shownTwoXx}`);
        assert.ok(shownTwoXx <= json.responses["2xx"], "the page never shows more than is true");

        const file = await screenshot(page, "status.png");
        const png = await readFile(file);
        assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
        const width = png.readUInt32BE(16);
        const height = png.readUInt32BE(20);
        assert.ok(width >= 600 && height >= 400, `a ${width}x${height} screenshot`);
        assert.ok(png.length > 20_000, `a ${png.length}-byte PNG is too plain to hold the page`);
    });

    scenario("the sh and Python greetings escape the name they are given", async (page) => {
        await page.goto("/");
        const name = "Zoë <i>x</i>";
        for (const [button, path] of [["Greet me with hello.sh", "/cgi-bin/hello.sh"],
                                      ["Greet me with hello.py", "/cgi-bin/hello.py"]]) {
            await page.goto("/");
            await page.getByLabel("Your name").fill(name);
            await clickAndLoad(page, page.getByRole("button", { name: button }));
            assert.equal(new URL(page.url()).pathname, path);
            assert.equal(await page.locator(".greeting").textContent(), `Hello, ${name}!`);
            assert.equal(await page.locator("main i").count(), 0, "no <i> element was made");
        }
    });

    // ---- Forms ----

    scenario("hello_get greets the names sent by the GET form and by the POST form",
             async (page) => {
        await page.goto("/hello_get.html");
        const getForm = page.locator('form[method="get"]');
        await getForm.getByLabel("First name").fill("Ada");
        await getForm.getByLabel("Last name").fill("Lovelace");
        let response = await clickAndLoad(page, getForm.getByRole("button", { name: "Say hello" }));
        assert.equal(response.status(), 200);
        const url = new URL(page.url());
        assert.equal(url.pathname, "/cgi-bin/hello_get");
        assert.equal(url.searchParams.get("first_name"), "Ada");
        assert.equal(url.searchParams.get("last_name"), "Lovelace");
        assert.equal(await page.locator(".greeting").textContent(), "Hello, Ada Lovelace!");
        assert.equal(await page.locator("main code").first().textContent(), "GET");

        await page.goto("/hello_get.html");
        const postForm = page.locator('form[method="post"]');
        await postForm.getByLabel("First name").fill("Émile");
        await postForm.getByLabel("Last name").fill("Zola & <Co>");
        response = await clickAndLoad(page, postForm.getByRole("button", { name: "Say hello" }));
        assert.equal(response.status(), 200);
        assert.equal(response.request().method(), "POST");
        assert.equal(page.url(), `${baseUrl}/cgi-bin/hello_get`, "POST leaves no query string");
        assert.equal(await page.locator(".greeting").textContent(), "Hello, Émile Zola & <Co>!");
        assert.equal(await page.locator("main code").first().textContent(), "POST");
    });

    scenario("checkbox shows the boxes that were ticked", async (page) => {
        await page.goto("/checkbox.html");
        await page.getByLabel("Maths").check();
        await page.getByLabel("Chemistry").check();
        await clickAndLoad(page, page.getByRole("button", { name: "Send with GET", exact: true }));
        assert.equal(new URL(page.url()).search, "?maths=on&chemistry=on");
        assert.match(await page.locator("main").textContent(), /You ticked 2 of 3/);
        assert.deepEqual(await page.locator("ul.chosen li").allTextContents(),
                         ["Maths", "Chemistry"]);

        await page.goto("/checkbox.html");
        await clickAndLoad(page, page.getByRole("button", { name: "Send with GET", exact: true }));
        assert.match(await page.locator("main").textContent(), /You ticked no subjects/);
    });

    scenario("the form samples answer the POST buttons, urlencoded and multipart", async (page) => {
        for (const button of ["Send with POST", "Send with POST as multipart/form-data"]) {
            await page.goto("/checkbox.html");
            await page.getByLabel("Physics").check();
            const response = await clickAndLoad(
                page, page.getByRole("button", { name: button, exact: true }));
            assert.equal(response.request().method(), "POST", button);
            assert.equal(response.status(), 200, button);
            assert.equal(page.url(), `${baseUrl}/cgi-bin/checkbox`, "POST leaves no query string");
            assert.deepEqual(await page.locator("ul.chosen li").allTextContents(), ["Physics"]);
        }
        await page.goto("/radio.html");
        await page.getByLabel("Chemistry").check();
        await clickAndLoad(page, page.getByRole("button", { name: "Send with POST", exact: true }));
        assert.equal(await page.locator("p.chosen").textContent(), "You chose chemistry.");
        await page.goto("/dropdown.html");
        await page.getByLabel("Subject").selectOption("physics");
        await page.getByLabel("Days you can attend").selectOption(["tue", "thu"]);
        await clickAndLoad(page, page.getByRole(
            "button", { name: "Send with POST as multipart/form-data", exact: true }));
        assert.deepEqual(await page.locator("ul.chosen li").allTextContents(),
                         ["Tuesday", "Thursday"]);
        await page.goto("/textarea.html");
        await page.getByLabel("Your text").fill("by GET\n<i>too</i>");
        await clickAndLoad(page, page.getByRole("button", { name: "Send with GET", exact: true }));
        assert.equal(new URL(page.url()).pathname, "/cgi-bin/textarea");
        assert.equal(await page.locator("pre.echo").innerText(), "by GET\n<i>too</i>");
    });

    scenario("radio shows the one choice of the group", async (page) => {
        await page.goto("/radio.html");
        await page.getByLabel("Physics").check();
        await clickAndLoad(page, page.getByRole("button", { name: "Send with GET", exact: true }));
        assert.equal(new URL(page.url()).search, "?subject=physics");
        assert.equal(await page.locator("p.chosen").textContent(), "You chose physics.");
    });

    scenario("dropdown shows a single choice and several", async (page) => {
        await page.goto("/dropdown.html");
        await page.getByLabel("Subject").selectOption("chemistry");
        await page.getByLabel("Days you can attend").selectOption(["mon", "wed", "fri"]);
        await clickAndLoad(page, page.getByRole("button", { name: "Send with GET", exact: true }));
        const url = new URL(page.url());
        assert.equal(url.searchParams.get("subject"), "chemistry");
        assert.deepEqual(url.searchParams.getAll("days"), ["mon", "wed", "fri"]);
        assert.equal(await page.locator("strong.chosen").textContent(), "Chemistry");
        assert.deepEqual(await page.locator("ul.chosen li").allTextContents(),
                         ["Monday", "Wednesday", "Friday"]);

        await page.goto("/dropdown.html");
        await page.getByLabel("Subject").selectOption("maths");
        await clickAndLoad(page, page.getByRole("button", { name: "Send with GET", exact: true }));
        assert.equal(await page.locator("strong.chosen").textContent(), "Maths");
        assert.match(await page.locator("main").textContent(), /You chose no days/);
    });

    scenario("textarea shows HTML as text, with its line breaks", async (page) => {
        await page.goto("/textarea.html");
        const text = "first line\n<b>x</b>\nthird & last";
        await page.getByLabel("Your text").fill(text);
        const response = await clickAndLoad(
            page, page.getByRole("button", { name: "Send with POST", exact: true }));
        assert.equal(response.request().method(), "POST");
        assert.equal(response.status(), 200);
        const echo = page.locator("pre.echo");
        assert.equal(await echo.innerText(), text);
        assert.equal(await page.locator("main b").count(), 0, "no <b> element was made");
        assert.match(await page.locator("main").textContent(), /You wrote 3 lines/);
    });

    // ---- HTTP beyond the page ----

    scenario("cookies remembers a colour across page loads and forgets it on request",
             async (page, context) => {
        await page.goto("/cgi-bin/cookies");
        assert.match(await page.locator("main").textContent(), /no session id from this program/);
        await page.getByLabel("Favourite colour").selectOption("crimson");
        const response = await clickAndLoad(page, page.getByRole("button", { name: "Remember me" }));
        assert.equal(response.request().redirectedFrom()?.method(), "POST", "303 after the POST");
        assert.equal(response.request().method(), "GET");

        // A new load of the page: the browser sends both cookies back.
        await page.goto("/cgi-bin/cookies");
        assert.match(await page.locator("main").textContent(), /Welcome back/);
        assert.equal(await page.locator("strong.chosen").textContent(), "crimson");
        const cookies = Object.fromEntries(
            (await context.cookies()).map((cookie) => [cookie.name, cookie]));
        assert.equal(cookies.colour?.value, "crimson");
        // Issued and signed by the program (random part, issue time, HMAC), never printed.
        assert.match(cookies.session_id?.value ?? "", /^[0-9a-f]{32}\.[0-9]+\.[0-9a-f]{64}$/);
        assert.ok(!(await page.content()).includes(cookies.session_id.value.slice(0, 32)),
                  "the page does not show the HttpOnly session id");
        assert.equal(cookies.session_id.httpOnly, true);
        assert.equal(cookies.colour.sameSite, "Lax");
        const scriptSees = await page.evaluate(() => document.cookie);
        assert.equal(scriptSees, "colour=crimson", "the HttpOnly session id stays hidden");

        await clickAndLoad(page, page.getByRole("button", { name: "Forget me" }));
        assert.match(await page.locator("main").textContent(), /no session id from this program/);
        assert.equal(await page.locator("strong.chosen").count(), 0);
        assert.deepEqual(await context.cookies(), []);
        await page.reload();
        assert.match(await page.locator("main").textContent(), /No cookies came with this request/);
    });

    scenario("upload stores a file that download gives back byte for byte", async (page) => {
        const bytes = randomBytes(200 * 1024);
        const digest = sha256(bytes);
        await page.goto("/upload.html");
        await page.locator('input[type="file"]').setInputFiles(
            { name: "random-200k.bin", mimeType: "application/octet-stream", buffer: bytes });
        await page.getByLabel("Description").fill("200 KiB of random bytes");
        const response = await clickAndLoad(page, page.getByRole("button", { name: "Upload" }));
        assert.equal(response.status(), 200);
        const row = page.locator("tr.file");
        assert.equal(await row.count(), 1);
        const cells = await row.locator("td").allTextContents();
        const [storedName, sentName, size, , shownDigest] = cells;
        assert.equal(sentName, "random-200k.bin");
        assert.equal(size, String(bytes.length));
        assert.equal(shownDigest, digest, "upload's SHA-256 is that of the bytes sent");

        await clickAndLoad(page, page.getByRole("link", { name: "All uploaded files" }));
        assert.equal(new URL(page.url()).pathname, "/cgi-bin/download");
        const link = page.locator("tr.file a", { hasText: storedName });
        const [download] = await Promise.all([page.waitForEvent("download"), link.click()]);
        assert.equal(download.suggestedFilename(), storedName);
        assert.equal(await download.failure(), null);
        const received = await readFile(await download.path());
        assert.equal(received.length, bytes.length);
        assert.equal(sha256(received), digest, "the downloaded file is the uploaded one");
    });

    scenario("redirect: the client redirect and the local redirect both end at hello",
             async (page) => {
        await page.goto("/cgi-bin/redirect");
        let response = await clickAndLoad(page, page.getByRole("link", { name: "A client redirect" }));
        const redirected = response.request().redirectedFrom();
        assert.ok(redirected, "the browser followed a redirect");
        assert.equal(redirected.url(), `${baseUrl}/cgi-bin/redirect?to=client`);
        assert.equal((await redirected.response()).status(), 302);
        assert.equal(page.url(), `${baseUrl}/cgi-bin/hello`, "the address bar changed");
        assert.equal(await page.locator("h1").textContent(), "Hello, world!");

        await page.goto("/cgi-bin/redirect");
        response = await clickAndLoad(page, page.getByRole("link", { name: "A local redirect" }));
        assert.equal(response.status(), 200);
        assert.equal(response.request().redirectedFrom(), null, "the browser saw no redirect");
        assert.equal(page.url(), `${baseUrl}/cgi-bin/redirect?to=local`, "the address stayed");
        assert.equal(await page.locator("h1").textContent(), "Hello, world!");
    });

    scenario("chat carries messages both ways between two browsers", async (pageA) => {
        const contextB = await newContext();
        try {
            const pageB = await contextB.newPage();
            await Promise.all([openChat(pageA), openChat(pageB)]);

            const fromA = "hello from A <i>not markup</i>";
            const latencyAB = await postAndAwait(pageA, "alice", fromA, pageB);
            console.log(`# chat: B saw A's message ${latencyAB} ms after A sent it`);
            const fromB = "hi A, B here";
            const latencyBA = await postAndAwait(pageB, "bob", fromB, pageA);
            console.log(`# chat: A saw B's message ${latencyBA} ms after B sent it`);

            for (const page of [pageA, pageB]) {
                await page.locator("#messages li").nth(1).waitFor();
                const items = await page.locator("#messages li").allInnerTexts();
                assert.equal(items.length, 2);
                assert.match(items[0], /alice: hello from A <i>not markup<\/i>$/);
                assert.match(items[1], /bob: hi A, B here$/);
                assert.equal(await page.locator("#messages i").count(), 0);
            }
            await screenshot(pageB, "chat.png");
        } finally {
            await contextB.close();
        }
    });

    // chat.html long-polls from the moment it loads; "Connected" means a poll has answered.
    async function openChat(page) {
        await page.goto("/chat.html");
        await page.locator("#status", { hasText: "Connected" }).waitFor();
    }

    // Posts from one page and resolves with the milliseconds until the other page shows it.
    async function postAndAwait(fromPage, nick, text, toPage) {
        await fromPage.locator("#nick").fill(nick);
        await fromPage.locator("#message").fill(text);
        const posted = fromPage.waitForResponse(
            (r) => r.url() === `${baseUrl}/cgi-bin/chat` && r.request().method() === "POST");
        await fromPage.getByRole("button", { name: "Send" }).click();
        const response = await posted;
        assert.equal(response.status(), 200);
        assert.equal((await response.json()).ok, true);
        const sentAt = Date.now();
        await toPage.locator("#messages li", { hasText: `${nick}: ${text}` }).waitFor();
        const latency = Date.now() - sentAt;
        assert.equal(await fromPage.locator("#message").inputValue(), "", "the form was reset");
        return latency;
    }

    // Order, not speed: the job is still running when its acceptance and then its first status
    // page arrive, and is done later.
    scenario("background accepts a job at once and shows its result when it is done",
             async (page) => {
        await page.goto("/background.html");
        const started = Date.now();
        const response = await clickAndLoad(page, page.getByRole("button", { name: "Start a job" }));
        console.log(`# background: accepted in ${Date.now() - started} ms`);
        assert.equal(response.status(), 202);
        assert.equal(await page.locator("h1").textContent(), "Job accepted");

        await clickAndLoad(page, page.getByRole("link", { name: "See its status" }));
        assert.match(new URL(page.url()).search, /^\?job=[0-9a-f]{32}$/);
        assert.equal(await page.locator("p.job.running").count(), 1,
                     "the job was over before its acceptance and status page came back");
        // The status page reloads itself (Refresh: 1) until the job is done.
        const done = page.locator("p.job.done");
        await done.waitFor();
        console.log(`# background: result shown ${Date.now() - started} ms after the start`);
        assert.equal(await done.textContent(), "Finished. There are 78498 primes below 1000000.");
    });
});

// Clicks and waits for the page that the click loads; resolves with its main response (after
// any redirects).
async function clickAndLoad(page, locator) {
    const [response] = await Promise.all([page.waitForNavigation(), locator.click()]);
    assert.ok(response, "the click loaded a page");
    return response;
}

async function launchChromium(workDir) {
    if (!existsSync(CHROMIUM)) {
        throw new Error(`${CHROMIUM} is missing: run scripts/install-deps --test`);
    }
    let chromium;
    try {
        ({ chromium } = await import("playwright-core"));
    } catch (error) {
        throw new Error(`playwright-core is missing (${error.message}): ` +
                        "run scripts/install-deps --test");
    }
    // Playwright makes (and removes) a fresh profile directory, --user-data-dir, for each
    // launch, under TMPDIR: ours, so nothing outlives the run.
    const previousTmp = process.env.TMPDIR;
    process.env.TMPDIR = workDir;
    try {
        return await chromium.launch({
            executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 60_000,
        });
    } finally {
        if (previousTmp === undefined) delete process.env.TMPDIR;
        else process.env.TMPDIR = previousTmp;
    }
}
