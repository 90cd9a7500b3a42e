-- The key id inside a sealed secret (layout in ledger-store's crypto module: version, id length, id, ...),
-- so rotation can find and count the values still under an old key without decrypting them.
CREATE FUNCTION ledger_secret_key_id(blob bytea) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT CASE WHEN length(blob) < 2 THEN NULL
                ELSE convert_from(substring(blob FROM 3 FOR get_byte(blob, 1)), 'UTF8') END
$$;
