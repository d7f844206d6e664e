//! The tables, written by hand so that one description fits both backends:
//! integers are BIGINT, timestamps UTC `Timestamp`, JSON is `Text`.

diesel::table! {
    workspaces (id) {
        id -> BigInt,
        name -> Text,
        slug -> Text,
        site_id -> Text,
        identifier_mode -> Text,
        pii_keys -> Text,
        created_at -> Timestamp,
        owner_code_threshold -> Nullable<BigInt>,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        email -> Text,
        name -> Text,
        password_hash -> Text,
        is_owner -> Bool,
        totp_secret -> Nullable<Text>,
        totp_last_step -> Nullable<BigInt>,
        recovery_codes -> Text,
        disabled -> Bool,
        created_at -> Timestamp,
        is_account_admin -> Bool,
        time_zone -> Text,
    }
}

diesel::table! {
    login_throttles (key_digest) {
        key_digest -> Text,
        failures -> Integer,
        last_failure_at -> Timestamp,
        wait_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sign_in_addresses (user_id, address_digest) {
        user_id -> BigInt,
        address_digest -> Text,
        last_signed_in_at -> Timestamp,
    }
}

diesel::table! {
    sign_in_tallies (hour) {
        hour -> Timestamp,
        refused -> BigInt,
    }
}

diesel::table! {
    roles (id) {
        id -> BigInt,
        name -> Text,
        builtin -> Nullable<Text>,
        permissions -> Text,
        created_at -> Timestamp,
        workspace_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    memberships (user_id, workspace_id) {
        user_id -> BigInt,
        workspace_id -> BigInt,
        role_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    customers (id) {
        id -> BigInt,
        workspace_id -> BigInt,
        external_id -> Nullable<Text>,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
        name -> Nullable<Text>,
        country -> Nullable<Text>,
        city -> Nullable<Text>,
        attributes -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        archived_at -> Nullable<Timestamp>,
        archived_by -> Nullable<BigInt>,
        legal_hold_reason -> Nullable<Text>,
        legal_hold_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    events (id) {
        id -> BigInt,
        workspace_id -> BigInt,
        customer_id -> BigInt,
        name -> Text,
        properties -> Text,
        occurred_at -> Timestamp,
    }
}

diesel::table! {
    suppressions (id) {
        id -> BigInt,
        workspace_id -> BigInt,
        kind -> Text,
        digest -> Text,
        reason -> Text,
        created_at -> Timestamp,
        created_by -> Text,
    }
}

diesel::table! {
    jobs (id) {
        id -> BigInt,
        workspace_id -> BigInt,
        kind -> Text,
        state -> Text,
        selection -> Text,
        suppress -> Bool,
        created_by -> BigInt,
        created_at -> Timestamp,
        started_at -> Nullable<Timestamp>,
        finished_at -> Nullable<Timestamp>,
        total -> BigInt,
        done -> BigInt,
        skipped_missing -> BigInt,
        skipped_held -> BigInt,
        skipped_other -> BigInt,
        events_removed -> BigInt,
        cancel_requested -> Bool,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
        receipt_id -> Text,
        payload -> Text,
        report -> Text,
        needs_owner_code -> Bool,
        whole_workspace -> Bool,
        devices_removed -> BigInt,
        freezing -> Bool,
        freeze_after -> BigInt,
        freeze_expected -> BigInt,
    }
}

diesel::table! {
    job_targets (job_id, customer_id) {
        job_id -> BigInt,
        customer_id -> BigInt,
    }
}

diesel::table! {
    /// A CSV import's rows waiting for its job; see the migration.
    import_rows (job_id, position) {
        job_id -> BigInt,
        position -> BigInt,
        line -> BigInt,
        cells -> Text,
    }
}

diesel::table! {
    otp_challenges (id) {
        id -> BigInt,
        workspace_id -> BigInt,
        user_id -> BigInt,
        session_digest -> Text,
        purpose -> Text,
        code_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        attempts -> Integer,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        created_at -> Timestamp,
        workspace_id -> Nullable<BigInt>,
        actor_kind -> Text,
        actor_id -> Nullable<BigInt>,
        action -> Text,
        target -> Text,
        selection -> Text,
        affected -> BigInt,
        details -> Text,
        request_id -> Text,
        client_ip -> Text,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    sessions (id_digest) {
        id_digest -> Text,
        user_id -> Nullable<BigInt>,
        state -> Text,
        created_at -> Timestamp,
        touched_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    api_keys (id) {
        id -> BigInt,
        workspace_id -> BigInt,
        name -> Text,
        key_digest -> Text,
        key_prefix -> Text,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    invitations (id) {
        id -> BigInt,
        workspace_id -> BigInt,
        email -> Text,
        role_id -> BigInt,
        token_digest -> Text,
        invited_by -> BigInt,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        accepted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Mailed links that set a forgotten password; see the migration.
    password_resets (id) {
        id -> BigInt,
        user_id -> BigInt,
        token_digest -> Text,
        client_digest -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(memberships -> users (user_id));
diesel::joinable!(memberships -> workspaces (workspace_id));
diesel::joinable!(memberships -> roles (role_id));
diesel::joinable!(customers -> workspaces (workspace_id));
diesel::joinable!(events -> customers (customer_id));
diesel::joinable!(api_keys -> workspaces (workspace_id));
diesel::joinable!(password_resets -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    workspaces,
    users,
    login_throttles,
    sign_in_addresses,
    sign_in_tallies,
    roles,
    memberships,
    customers,
    events,
    suppressions,
    jobs,
    job_targets,
    import_rows,
    otp_challenges,
    audit_log,
    sessions,
    api_keys,
    invitations,
    password_resets,
);

diesel::table! {
    /// Kept exact by database triggers on `customers`; never written by the code.
    workspace_counters (workspace_id) {
        workspace_id -> BigInt,
        customers -> BigInt,
    }
}

diesel::table! {
    /// Events of people not identified yet, by the keyed digest of their anonymous id.
    anonymous_events (id) {
        id -> BigInt,
        workspace_id -> BigInt,
        anonymous_digest -> Text,
        name -> Text,
        properties -> Text,
        occurred_at -> Timestamp,
        received_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(anonymous_events, events);

diesel::table! {
    /// A customer's devices; the token is personal data.
    devices (id) {
        id -> BigInt,
        workspace_id -> BigInt,
        customer_id -> BigInt,
        token -> Text,
        platform -> Text,
        last_used -> Timestamp,
        attributes -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Downstream systems told about erasures; see the migration.
    destinations (id) {
        id -> BigInt,
        workspace_id -> BigInt,
        name -> Text,
        url -> Text,
        events -> Text,
        holds_external_id -> Bool,
        include_identifiers -> Bool,
        secret_nonce -> Text,
        previous_secret_nonce -> Nullable<Text>,
        previous_secret_until -> Nullable<Timestamp>,
        paused_reason -> Nullable<Text>,
        failing_since -> Nullable<Timestamp>,
        created_by -> BigInt,
        created_at -> Timestamp,
        removed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Events waiting for, or done with, delivery to a destination; see the migration.
    outbox (id) {
        id -> BigInt,
        workspace_id -> BigInt,
        destination_id -> BigInt,
        message_id -> Text,
        event_type -> Text,
        body -> Nullable<Text>,
        carries_identifiers -> Bool,
        customers -> BigInt,
        job_id -> Nullable<BigInt>,
        receipt_id -> Nullable<Text>,
        state -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        retry_from -> Timestamp,
        last_attempt_at -> Nullable<Timestamp>,
        last_status -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        delivered_at -> Nullable<Timestamp>,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
    }
}

diesel::joinable!(outbox -> destinations (destination_id));
diesel::allow_tables_to_appear_in_same_query!(destinations, outbox);

diesel::table! {
    /// Data-subject requests; see the migration.
    requests (id) {
        id -> BigInt,
        workspace_id -> BigInt,
        kind -> Text,
        email -> Nullable<Text>,
        external_id -> Nullable<Text>,
        phone -> Nullable<Text>,
        identifier_digests -> Text,
        verification -> Text,
        received_at -> Timestamp,
        due_at -> Timestamp,
        extension_reason -> Nullable<Text>,
        state -> Text,
        outcome -> Nullable<Text>,
        job_id -> Nullable<BigInt>,
        exported_at -> Nullable<Timestamp>,
        export_expires_at -> Nullable<Timestamp>,
        due_soon_mailed_at -> Nullable<Timestamp>,
        overdue_mailed_at -> Nullable<Timestamp>,
        created_by -> BigInt,
        created_at -> Timestamp,
        closed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Archive or delete customers not seen for a number of days; see the migration.
    retention_policies (id) {
        id -> BigInt,
        workspace_id -> BigInt,
        action -> Text,
        days -> Integer,
        filter -> Text,
        paused -> Bool,
        created_by -> BigInt,
        created_at -> Timestamp,
        last_run_at -> Nullable<Timestamp>,
        next_run_at -> Timestamp,
        last_job_id -> Nullable<BigInt>,
        confirmed_big_run -> Bool,
    }
}
