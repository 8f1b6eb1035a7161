-- Accounts the way institutions run them: first-run setup, invitations, password
-- resets, lead officers, institutions that are renamed, merged or deactivated, and
-- sign-in with an institution's OpenID provider. Every secret token is stored as the
-- SHA-256 of a 32-byte random token; the token itself only travels in the mail (or the
-- server's log, for the setup code).

-- A lead officer is an officer who may invite officers of their own institution.
ALTER TABLE users ADD COLUMN lead_officer boolean NOT NULL DEFAULT false;
ALTER TABLE users ADD CONSTRAINT lead_officer_is_officer CHECK (NOT lead_officer OR role = 'officer');

-- Institutions: deactivated ones keep their cases but their accounts cannot sign in;
-- a merged one is deactivated and points at the institution that took its cases.
ALTER TABLE institutions ADD COLUMN active boolean NOT NULL DEFAULT true;
ALTER TABLE institutions ADD COLUMN merged_into uuid REFERENCES institutions (id);
ALTER TABLE institutions ADD COLUMN lock_version integer NOT NULL DEFAULT 0;

-- One-time codes of the first-run setup page, valid while no administrator exists.
CREATE TABLE setup_codes (
    code_hash  text PRIMARY KEY CHECK (length(code_hash) = 64),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- "Forgot your password?": single use, one hour.
CREATE TABLE password_resets (
    token_hash text PRIMARY KEY CHECK (length(token_hash) = 64),
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX password_resets_user_idx ON password_resets (user_id);

-- Invitations by email with a role and institution: single use, 72 hours; resending
-- replaces the token.
CREATE TABLE invitations (
    id             uuid PRIMARY KEY,
    email          text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    display_name   text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
    role           text NOT NULL CHECK (role IN ('officer', 'reviewer', 'admin')),
    lead_officer   boolean NOT NULL DEFAULT false,
    institution_id uuid REFERENCES institutions (id),
    token_hash     text NOT NULL UNIQUE CHECK (length(token_hash) = 64),
    invited_by     uuid REFERENCES users (id) ON DELETE SET NULL,
    expires_at     timestamptz NOT NULL,
    accepted_at    timestamptz,
    accepted_user  uuid REFERENCES users (id) ON DELETE SET NULL,
    revoked_at     timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT invited_officer_has_institution CHECK (role <> 'officer' OR institution_id IS NOT NULL),
    CONSTRAINT invited_lead_is_officer CHECK (NOT lead_officer OR role = 'officer')
);
-- One pending invitation per address.
CREATE UNIQUE INDEX invitations_pending_email_key ON invitations (lower(email))
    WHERE accepted_at IS NULL AND revoked_at IS NULL;

-- An institution's OpenID Connect provider.
CREATE TABLE identity_providers (
    institution_id uuid PRIMARY KEY REFERENCES institutions (id) ON DELETE CASCADE,
    issuer_url     text NOT NULL CHECK (length(issuer_url) BETWEEN 8 AND 500),
    client_id      text NOT NULL CHECK (length(client_id) BETWEEN 1 AND 500),
    client_secret  text NOT NULL CHECK (length(client_secret) BETWEEN 1 AND 500),
    -- Only addresses of this domain may sign in through it (none: any address).
    email_domain   text CHECK (email_domain IS NULL OR length(email_domain) BETWEEN 3 AND 253),
    -- Create an officer account of the institution at the first sign-in.
    create_accounts boolean NOT NULL DEFAULT false,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- Accounts linked to a provider's subject.
CREATE TABLE user_identities (
    issuer_url text NOT NULL,
    subject    text NOT NULL,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (issuer_url, subject)
);
CREATE INDEX user_identities_user_idx ON user_identities (user_id);
