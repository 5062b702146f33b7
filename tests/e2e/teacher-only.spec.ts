import { expect, test, type Page } from '@playwright/test';
import { generate, openApp } from './helpers';

// The shipped ShapeScenes bundle has a teacher only until its flash students exist. Here the tiny bundle's
// manifest is served without its flash UNets (a test-time copy; the fixture on disk is unchanged).

interface Manifest {
  unets: { id: string }[];
  files: { path: string }[];
}

async function teacherOnly(page: Page): Promise<void> {
  await page.route('**/models/tiny-bundle/manifest.json', async (route) => {
    const response = await route.fetch();
    const m = (await response.json()) as Manifest;
    m.unets = m.unets.filter((u) => u.id === 'teacher');
    m.files = m.files.filter((f) => !f.path.startsWith('unet-flash-'));
    await route.fulfill({ response, json: m });
  });
}

const modelRadio = (page: Page, name: 'Flash' | 'Teacher') => page.getByRole('radiogroup', { name: 'Model' }).getByRole('radio', { name, exact: true });

test('a teacher-only bundle opens on the Teacher with Generate enabled; Flash is offered as absent', async ({ page }) => {
  await teacherOnly(page);
  await openApp(page);
  await expect(modelRadio(page, 'Teacher')).toBeChecked();
  await expect(modelRadio(page, 'Flash')).toBeDisabled();
  await expect(page.getByTestId('model-notice')).toHaveCount(0);
  await generate(page);
  await expect(page.getByTestId('result-info')).toContainText('Teacher, 25 steps (DPM-Solver++, CFG 4)');
});

test('a link asking for Flash on a teacher-only bundle explains itself instead of a dead button', async ({ page }) => {
  await teacherOnly(page);
  await openApp(page, '?prompt=a+red+circle&seed=5&model=flash&steps=1');
  await expect(page.getByTestId('model-notice')).toHaveText('This link asks for a Flash model, which tiny-random does not have; the Teacher is selected instead.');
  await expect(modelRadio(page, 'Teacher')).toBeChecked();
  await expect(page.getByTestId('result-info')).toHaveCount(0);
  await generate(page);
  await expect(page.getByTestId('result-info')).toContainText('Teacher, 25 steps (DPM-Solver++, CFG 4) · “a red circle” · seed 5');
  await expect(page.getByTestId('model-notice')).toBeVisible();
});
