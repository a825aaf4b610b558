"""The 2D digital human, Django-free: training a model from a person's video (training), the model file
(model), the audio -> mouth-shape model (lipsync), the renderer (render) and the preview clip (preview)."""
