"""ShapeScenes, the synthetic compositional domain: grammar, scenes, rendering, prompt files, the analyzer."""
