-- A card whose signature certificate was torn by an interrupted write is found by its number
-- (the verdict's fallback for resuming its renewal).
CREATE INDEX renewals_by_card ON renewals (card_number, completed_at);
