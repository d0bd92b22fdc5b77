// The browser tests' setup: Debian's Chromium at /usr/bin/chromium (or CHROMIUM_PATH). When it is
// missing and this runs as root on Debian, it installs the `chromium` package with apt-get; when
// it cannot, it says what to install and fails, so the browser tests never pass without a browser.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
if (!existsSync(path)) {
  const root = process.getuid?.() === 0;
  if (!root || !existsSync('/usr/bin/apt-get')) {
    console.error(
      `The dashboard's browser tests need Chromium at ${path}. Install Debian's package as root ` +
        '(apt-get install -y chromium), or set CHROMIUM_PATH to a Chromium or Chrome binary.',
    );
    process.exit(1);
  }
  console.log('Installing Debian chromium for the browser tests (apt-get, once per machine)…');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'chromium'], {
    stdio: 'inherit',
    env,
  });
  if (!existsSync(path)) {
    console.error(`apt-get installed chromium, but ${path} does not exist; set CHROMIUM_PATH.`);
    process.exit(1);
  }
}
