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

// Help while typing: suggestions, a hint before Generate, examples to click; none for a standard SD folder.

test('typing "a red" offers the shapes; a click completes the prompt; a partial word is completed', async ({ page }) => {
  await openApp(page);
  const next = page.getByRole('group', { name: 'Next word suggestions' });
  await setOptions(page, { prompt: 'a red' });
  await expect(next.getByRole('button')).toHaveText(['circle', 'square', 'triangle', 'star', 'heart']);
  await next.getByRole('button', { name: 'triangle' }).click();
  await expect(page.getByLabel('Prompt', { exact: true })).toHaveValue('a red triangle');
  await expect(page.getByLabel('Prompt', { exact: true })).toBeFocused();
  await expect(next.getByRole('button', { name: 'above' })).toBeVisible();

  await setOptions(page, { prompt: 'A Red CIR' });
  await expect(next.getByRole('button')).toHaveText(['circle']);
  // keyboard: Arrow Down from the prompt enters the chips (out of the Tab order), Enter takes one
  await page.keyboard.press('ArrowDown');
  await expect(next.getByRole('button', { name: 'circle' })).toBeFocused();
  await page.keyboard.press('ArrowRight');
  await expect(page.getByRole('group', { name: 'Examples to try' }).getByRole('button').first()).toBeFocused();
  await page.keyboard.press('ArrowLeft');
  await page.keyboard.press('Enter');
  await expect(page.getByLabel('Prompt', { exact: true })).toHaveValue('A Red circle');
  await expect(page.getByLabel('Prompt', { exact: true })).toBeFocused();
  await expect(page.getByTestId('prompt-hint')).toHaveCount(0);
});

test('an invalid prompt shows what is wrong under the prompt before Generate; a valid start of one is quiet', async ({ page }) => {
  await openApp(page);
  const hint = page.getByTestId('prompt-hint');
  await setOptions(page, { prompt: 'a red circle to the lef' });
  await expect(page.getByRole('group', { name: 'Next word suggestions' }).getByRole('button')).toHaveText(['left']);
  await expect(hint).toHaveCount(0);
  await setOptions(page, { prompt: 'a red blue' });
  await expect(hint).toHaveText('Expected a shape ("circle", "square", "triangle", "star" or "heart") after "red", not "blue".');
  await expect(page.getByLabel('Prompt', { exact: true })).toHaveAccessibleDescription(/Expected a shape/);
  await expect(page.getByRole('alert')).toHaveCount(0);
  await setOptions(page, { prompt: 'a red circle.' });
  await expect(hint).toHaveCount(0);
});

test('an example chip fills the prompt and generates it', async ({ page }) => {
  await openApp(page);
  const examples = page.getByRole('group', { name: 'Examples to try' }).getByRole('button');
  await expect(examples).toHaveText(['two green stars', 'a large purple heart on a black background', 'a yellow triangle and a pink circle']);
  await examples.filter({ hasText: 'two green stars' }).click();
  await expect(page.getByLabel('Prompt', { exact: true })).toHaveValue('two green stars');
  await expect(page.getByTestId('busy')).toHaveCount(0, { timeout: 30_000 });
  await expect(page.getByTestId('result-info')).toContainText('“two green stars”');
  await expect(page.getByRole('alert')).toHaveCount(0);
});

test('a standard SD folder (tiny-sd) has no vocabulary: no suggestions, hint or examples', async ({ page }) => {
  await openApp(page, '?bundle=tiny-sd');
  await setOptions(page, { prompt: 'a red' });
  await page.waitForTimeout(400);
  await expect(page.getByRole('group', { name: 'Next word suggestions' })).toHaveCount(0);
  await expect(page.getByRole('group', { name: 'Examples to try' })).toHaveCount(0);
  await expect(page.getByTestId('prompt-hint')).toHaveCount(0);
});
