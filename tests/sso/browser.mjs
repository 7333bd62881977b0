// A person in headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core):
// opens a Zero sign-in URL, signs in at the identity provider's pages (username, then
// password), and reports the page it lands on as one JSON line on stdout. Then it obeys
// commands on stdin, one per line:
//
//   reload                 reload the page, report it
//   until-refused <ms>     reload until the page is not a 200, report it and how long it took
//   quit
//
// Usage: node browser.mjs SIGN_IN_URL LOGIN PASSWORD SCREENSHOT_DIR
// Environment: IDP_DIR (where playwright-core is installed), CHROMIUM (default /usr/bin/chromium).
import { createRequire } from 'node:module';
import path from 'node:path';
import readline from 'node:readline';

const [signInUrl, login, password, screenshots] = process.argv.slice(2);
const require = createRequire(path.join(process.env.IDP_DIR, 'package.json'));
const { chromium } = require('playwright-core');

// Flags known to work on this machine kind: no sandbox as root, and no background
// networking (the network is closed; Chromium would keep trying Google's hosts).
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ],
});
const page = await browser.newPage();
let shots = 0;

async function report(step, response, extra = {}) {
  const file = path.join(screenshots, `${String(++shots).padStart(2, '0')}-${step}.png`);
  await page.screenshot({ path: file, fullPage: true });
  const main = page.locator('main');
  process.stdout.write(`${JSON.stringify({
    step,
    status: response ? response.status() : null,
    url: page.url(),
    title: await page.title(),
    heading: await page.locator('h1').first().textContent(),
    text: await main.count() ? await main.innerText() : await page.locator('body').innerText(),
    errorCode: await main.count() ? await main.getAttribute('data-error-code') : null,
    screenshot: file,
    ...extra,
  })}\n`);
}

try {
  await page.goto(signInUrl);
  await page.fill('input[name=login]', login); // the username page (home-realm discovery)
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  await page.fill('input[name=password]', password); // the tenant's sign-in page
  const [landed] = await Promise.all([
    page.waitForNavigation({ url: /\/me$/ }),
    page.click('button[type=submit]'),
  ]);
  await report('signed-in', landed);

  const commands = readline.createInterface({ input: process.stdin });
  for await (const line of commands) {
    const [command, arg] = line.trim().split(/\s+/);
    if (command === 'reload') {
      await report('reloaded', await page.reload());
    } else if (command === 'until-refused') {
      const started = Date.now();
      let response = await page.reload();
      while (response.status() === 200 && Date.now() - started < Number(arg)) {
        await new Promise((resolve) => { setTimeout(resolve, 20); });
        response = await page.reload();
      }
      await report('refused', response, { elapsedMs: Date.now() - started });
    } else if (command === 'quit') {
      break;
    }
  }
} catch (error) {
  process.stdout.write(`${JSON.stringify({ step: 'error', error: String(error), url: page.url() })}\n`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
