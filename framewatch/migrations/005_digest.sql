-- Digest e-mails sent, per ISO week, codebook and recipient (merged from the send journal).
CREATE TABLE digest_sends (
    week VARCHAR NOT NULL,
    codebook_id VARCHAR NOT NULL,
    recipient VARCHAR NOT NULL,
    subject VARCHAR,
    status VARCHAR NOT NULL,            -- sent | failed
    error VARCHAR,
    sent_at TIMESTAMP NOT NULL,
    PRIMARY KEY (week, codebook_id, recipient, status, sent_at)
);
