import { expect, test } from '@playwright/test';
import { generate, openApp, setOptions } from './helpers';

// Prompt help on our bundle (tiny-bundle has the ShapeScenes vocabulary and grammar); WASM backend.

test('"a red circle." generates; "circle red a blue" is refused with a hint and the earlier image is marked as earlier', async ({ page }) => {
  await openApp(page);
  await setOptions(page, { prompt: 'a red circle.', seed: '7', steps: 1 });
  await generate(page);
  await expect(page.getByRole('alert')).toHaveCount(0);
  await expect(page.getByTestId('result-info')).toHaveText('Flash, 1 step (DDIM) · “a red circle.” · seed 7 · WASM');

  await setOptions(page, { prompt: 'circle red a blue' });
  await generate(page);
  const alert = page.getByRole('alert');
  await expect(alert).toContainText('Expected "a", "an", "two" or "three" at the start, not "circle".');
  await expect(alert).toContainText('Prompts read like “a red circle to the left of a blue square”');
  // the image on screen is the previous run's: none of its details may read as the failed request's
  await expect(page.getByTestId('previous-note')).toHaveText('Above: the previous image (“a red circle.”, seed 7).');
  await expect(page.getByRole('img', { name: /^previous 1-step image/ })).toBeVisible();
  for (const id of ['result-info', 'truncation', 'timings']) await expect(page.getByTestId(id)).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Download PNG', exact: true })).toHaveCount(0);

  await setOptions(page, { prompt: 'to the left of' });
  await generate(page);
  await expect(alert).toContainText('not "to"');

  await setOptions(page, { prompt: 'a red circle above a blue star!' });
  await generate(page);
  await expect(alert).toHaveCount(0);
  await expect(page.getByTestId('previous-note')).toHaveCount(0);
  await expect(page.getByTestId('result-info')).toContainText('“a red circle above a blue star!”');
});

test('symbols and numbers are named as such, with no letter word offered for them', async ({ page }) => {
  await openApp(page);
  for (const token of ['.', '=', '1', 'x']) {
    await setOptions(page, { prompt: token });
    await generate(page);
    const alert = page.getByRole('alert');
    await expect(alert).not.toContainText('did you mean');
    if (token === 'x') await expect(alert).toContainText('does not know the word "x".');
    else if (token === '.') await expect(alert).toContainText('The prompt has no words, only punctuation.');
    else await expect(alert).toContainText(`Only words are understood: "${token}".`);
  }
});

test('a very long unknown word is clipped and wraps: the page keeps its width', async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 900 });
  await openApp(page);
  await setOptions(page, { prompt: `a red circle ${'y'.repeat(5000)}` });
  await generate(page);
  await expect(page.getByRole('alert')).toContainText(`"${'y'.repeat(21)}…"`);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  expect(width).toBeLessThanOrEqual(1280);
});

test('a seed with leading zeros is the number it spells; the tooltip of noise correction is in plain words', async ({ page }) => {
  await openApp(page);
  await setOptions(page, { prompt: 'two green stars', seed: '00000000000000000001', steps: 2 });
  await generate(page);
  await expect(page.getByRole('alert')).toHaveCount(0);
  await expect(page.getByTestId('result-info')).toContainText('· seed 1 ·');
  const tip = await page.locator('label.switch').getAttribute('title');
  expect(tip).toContain('starting noise');
  expect(tip).not.toMatch(/§|x_T/);
});
