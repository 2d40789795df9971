-- Framing models by method: the linear head (pickled in `model`) or a fine-tuned
-- sentence encoder saved as a directory beside the store (`model_path`).
ALTER TABLE framing_models ADD COLUMN method VARCHAR DEFAULT 'linear';   -- linear | finetune
ALTER TABLE framing_models ADD COLUMN model_path VARCHAR;                -- finetune: the model directory
ALTER TABLE framing_models ADD COLUMN base_model VARCHAR;                -- the encoder it was tuned from
