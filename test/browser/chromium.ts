/**
 * Debian's Chromium (apt install chromium), driven by playwright-core. No browser is downloaded:
 * playwright-core only speaks the DevTools protocol to the executable already on the machine.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOTS = path.join(__dirname, 'screenshots');

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium); .ci/run does`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
  });
}

/** Saves a full-page PNG for review in test/browser/screenshots/. */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/**
 * Whether any pixel of the canvases under `selector` (looking inside open shadow roots, where
 * wavesurfer draws) differs from fully transparent and from the canvas's first pixel.
 */
export function canvasesHaveInk(page: Page, selector: string): Promise<boolean> {
  return page.evaluate((rootSelector) => {
    const root = document.querySelector(rootSelector);
    if (!root) return false;
    const canvases: HTMLCanvasElement[] = [];
    const collect = (node: Element | ShadowRoot) => {
      node.querySelectorAll('canvas').forEach((canvas) => canvases.push(canvas));
      node.querySelectorAll('*').forEach((child) => child.shadowRoot && collect(child.shadowRoot));
    };
    collect(root);
    if (root.shadowRoot) collect(root.shadowRoot);
    return canvases.some((canvas) => {
      if (canvas.width === 0 || canvas.height === 0) return false;
      const pixels = canvas.getContext('2d')?.getImageData(0, 0, canvas.width, canvas.height).data;
      if (!pixels) return false;
      let distinct = 0;
      for (let i = 0; i < pixels.length; i += 4) {
        if (pixels[i + 3] !== 0 && (pixels[i] !== pixels[0] || pixels[i + 1] !== pixels[1] || pixels[i + 2] !== pixels[2] || pixels[i + 3] !== pixels[3])) distinct++;
      }
      return distinct > 100;
    });
  }, selector);
}

/**
 * Controls and pictures on the page that a screen reader could not name: form fields without a
 * label, buttons and links without text or aria-label, role="img" without a text alternative.
 */
export function unnamedControls(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const describe = (element: Element) => `${element.tagName.toLowerCase()}${element.id ? `#${element.id}` : ''}${element.className ? `.${String(element.className).split(' ')[0]}` : ''}`;
    const hasAria = (element: Element) =>
      Boolean(element.getAttribute('aria-label')?.trim()) ||
      (element.getAttribute('aria-labelledby') ?? '').split(' ').some((id) => document.getElementById(id)?.textContent?.trim());
    const unnamed: string[] = [];
    for (const field of Array.from(document.querySelectorAll<HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>('input:not([type=hidden]), select, textarea'))) {
      if (!(field.labels && Array.from(field.labels as NodeListOf<HTMLLabelElement>).some((label) => label.textContent?.trim())) && !hasAria(field)) unnamed.push(describe(field));
    }
    for (const control of Array.from(document.querySelectorAll('button, a[href], summary'))) {
      if (!control.textContent?.trim() && !hasAria(control) && !control.getAttribute('title')) unnamed.push(describe(control));
    }
    for (const picture of Array.from(document.querySelectorAll('[role=img], img, progress'))) {
      const named = hasAria(picture) || (picture instanceof HTMLImageElement && picture.alt.trim() !== '') || (picture instanceof HTMLProgressElement && (picture.labels?.length ?? 0) > 0);
      if (!named) unnamed.push(describe(picture));
    }
    return unnamed;
  });
}
