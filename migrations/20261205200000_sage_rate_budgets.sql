-- Sage rate budgets shared by every process on this database (issue 8, item 6; docs/sage-connection.md
-- "Rate budgets"): the app-wide daily request budget, reserved in blocks; one row per in-flight slot
-- (the app-wide cap), each claimed for one call under a lease; and per-business 429 pauses.

-- How many calls of each UTC day the processes have reserved (a process takes a block at a time).
CREATE TABLE sage_budget_days (
    day date PRIMARY KEY,
    reserved bigint NOT NULL CHECK (reserved >= 0),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- The in-flight slots: slots 1..sage.max_in_flight exist (the gate inserts any missing); a call holds
-- one from admission to its end. A slot whose lease ran out (its process died) is free again.
-- Every call updates a row twice, so the table keeps to a few pages: no index beyond the key (a scan of
-- 150 rows is cheaper than keeping one) and room on each page, so updates stay HOT and page pruning
-- clears dead versions without waiting for vacuum.
CREATE TABLE sage_call_slots (
    slot integer PRIMARY KEY CHECK (slot > 0),
    lease_token bigint NOT NULL DEFAULT 0,
    holder uuid,
    business_id text,
    is_create boolean NOT NULL DEFAULT false,
    claimed_at timestamptz,
    expires_at timestamptz
) WITH (fillfactor = 30);

-- A business Sage answered 429 for: its calls wait until paused_until. `strikes` counts pauses that
-- followed one another closely, for the backoff when Sage sends no Retry-After.
CREATE TABLE sage_business_pauses (
    business_id text PRIMARY KEY,
    paused_until timestamptz NOT NULL,
    strikes integer NOT NULL DEFAULT 1 CHECK (strikes > 0),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Reserves up to p_want calls of p_day's budget of p_budget; returns how many were granted (0: spent).
CREATE FUNCTION sage_reserve_budget(p_day date, p_want bigint, p_budget bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_old bigint;
    v_granted bigint;
BEGIN
    INSERT INTO sage_budget_days (day, reserved) VALUES (p_day, 0) ON CONFLICT (day) DO NOTHING;
    SELECT d.reserved INTO v_old FROM sage_budget_days d WHERE d.day = p_day FOR UPDATE;
    v_granted := LEAST(p_want, GREATEST(p_budget - v_old, 0));
    IF v_granted > 0 THEN
        UPDATE sage_budget_days d SET reserved = d.reserved + v_granted, updated_at = now() WHERE d.day = p_day;
    END IF;
    RETURN v_granted;
END $$;

-- Claims an in-flight slot for one call, in one statement: refuses with 'paused' (and until when) while
-- the business is paused; with 'business_busy' when the business holds p_business_cap live slots, or
-- 'create_busy' when a create is asked for and one of its live slots is a create (claims of one business
-- are serialised by a transaction-scoped advisory lock, so two processes cannot both see room); with
-- 'app_busy' when every slot up to p_cap is live. p_business NULL (calls naming no business) skips the
-- per-business rules.
CREATE FUNCTION sage_claim_slot(p_holder uuid, p_business text, p_create boolean, p_cap integer,
                                p_business_cap integer, p_lease_secs double precision)
RETURNS TABLE (slot integer, lease_token bigint, refusal text, paused_until timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_until timestamptz;
    v_live bigint;
    v_creating boolean;
BEGIN
    IF p_business IS NOT NULL THEN
        SELECT p.paused_until INTO v_until FROM sage_business_pauses p
         WHERE p.business_id = p_business AND p.paused_until > now();
        IF FOUND THEN
            RETURN QUERY SELECT NULL::integer, NULL::bigint, 'paused'::text, v_until;
            RETURN;
        END IF;
        PERFORM pg_advisory_xact_lock(hashtextextended('ledger.sage_call_slots:' || p_business, 0));
        SELECT count(*), coalesce(bool_or(s.is_create), false) INTO v_live, v_creating
          FROM sage_call_slots s
         WHERE s.business_id = p_business AND s.holder IS NOT NULL AND s.expires_at > now();
        IF v_live >= p_business_cap THEN
            RETURN QUERY SELECT NULL::integer, NULL::bigint, 'business_busy'::text, NULL::timestamptz;
            RETURN;
        END IF;
        IF p_create AND v_creating THEN
            RETURN QUERY SELECT NULL::integer, NULL::bigint, 'create_busy'::text, NULL::timestamptz;
            RETURN;
        END IF;
    END IF;
    RETURN QUERY
    UPDATE sage_call_slots s
       SET lease_token = s.lease_token + 1, holder = p_holder, business_id = p_business, is_create = p_create,
           claimed_at = now(), expires_at = now() + make_interval(secs => p_lease_secs)
     WHERE s.slot = (SELECT f.slot FROM sage_call_slots f
                      WHERE f.slot <= p_cap AND (f.holder IS NULL OR f.expires_at <= now())
                      ORDER BY f.slot
                      LIMIT 1
                      FOR UPDATE SKIP LOCKED)
    RETURNING s.slot, s.lease_token, NULL::text, NULL::timestamptz;
    IF NOT FOUND THEN
        RETURN QUERY SELECT NULL::integer, NULL::bigint, 'app_busy'::text, NULL::timestamptz;
    END IF;
END $$;
