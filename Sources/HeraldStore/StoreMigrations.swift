import GRDB

/// The schema, as append-only named migrations in raw SQL. A landed migration is never edited:
/// a change is a new migration.
enum StoreMigrations {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-foundation") { db in
            try db.execute(sql: """
                CREATE TABLE users (
                    id TEXT PRIMARY KEY NOT NULL,
                    email TEXT,
                    phone TEXT,
                    locale TEXT,
                    timezone TEXT,
                    first_name TEXT,
                    last_name TEXT,
                    created_at REAL,
                    attributes TEXT NOT NULL DEFAULT '{}',
                    updated_at REAL NOT NULL DEFAULT 0
                );
                CREATE TABLE devices (
                    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                    platform TEXT NOT NULL,
                    address TEXT NOT NULL,
                    subscription TEXT,
                    active INTEGER NOT NULL DEFAULT 1,
                    PRIMARY KEY (user_id, platform, address)
                );
                CREATE TABLE preferences (
                    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                    key TEXT NOT NULL,
                    opted_in INTEGER NOT NULL,
                    updated_at REAL NOT NULL,
                    PRIMARY KEY (user_id, key)
                );
                CREATE TABLE campaigns (
                    id TEXT PRIMARY KEY NOT NULL,
                    definition_hash TEXT NOT NULL,
                    updated_at REAL NOT NULL
                );
                CREATE TABLE occurrences (
                    id INTEGER PRIMARY KEY,
                    campaign_id TEXT NOT NULL,
                    fire_at INTEGER NOT NULL, -- milliseconds since 1970: an exact key, unlike a REAL
                    definition_hash TEXT NOT NULL,
                    state TEXT NOT NULL,
                    created_at REAL NOT NULL,
                    finished_at REAL,
                    UNIQUE (campaign_id, fire_at)
                );
                CREATE TABLE notifications (
                    id INTEGER PRIMARY KEY,
                    dedupe_key TEXT NOT NULL UNIQUE,
                    occurrence_id INTEGER NOT NULL REFERENCES occurrences(id),
                    campaign_id TEXT NOT NULL,
                    category TEXT NOT NULL,
                    user_id TEXT NOT NULL,
                    channel TEXT NOT NULL,
                    provider TEXT,
                    address TEXT,
                    content TEXT,
                    state TEXT NOT NULL,
                    reason TEXT,
                    due_at REAL NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    provider_message_id TEXT,
                    created_at REAL NOT NULL,
                    updated_at REAL NOT NULL
                );
                CREATE INDEX notifications_by_campaign ON notifications (campaign_id, channel, state, reason);
                CREATE INDEX notifications_by_user ON notifications (user_id);
                CREATE INDEX notifications_by_occurrence ON notifications (occurrence_id);
                CREATE TABLE outbox (
                    notification_id INTEGER PRIMARY KEY REFERENCES notifications(id),
                    channel TEXT NOT NULL,
                    due_at REAL NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    lease_owner TEXT,
                    lease_until REAL
                );
                CREATE INDEX outbox_by_due ON outbox (channel, due_at);
                CREATE TABLE events (
                    id INTEGER PRIMARY KEY,
                    notification_id INTEGER,
                    campaign_id TEXT,
                    channel TEXT,
                    type TEXT NOT NULL,
                    reason TEXT,
                    at REAL NOT NULL,
                    detail TEXT
                );
                CREATE INDEX events_by_notification ON events (notification_id);
                CREATE INDEX events_by_campaign ON events (campaign_id, type);
                CREATE TABLE cap_ledger (
                    user_id TEXT NOT NULL,
                    channel TEXT NOT NULL,
                    campaign_id TEXT NOT NULL,
                    notification_id INTEGER NOT NULL,
                    at REAL NOT NULL
                );
                CREATE INDEX cap_ledger_by_user ON cap_ledger (user_id, at);
                CREATE TABLE sent_messages (
                    id INTEGER PRIMARY KEY,
                    notification_id INTEGER NOT NULL,
                    provider TEXT NOT NULL,
                    channel TEXT NOT NULL,
                    address TEXT NOT NULL,
                    content TEXT NOT NULL,
                    at REAL NOT NULL
                );
                """)
        }
        // The dedupe key was one string, `<occurrence>:<user>:<channel>[:<device>]`, with ':'
        // unescaped: user ids and tokens may contain ':', so two different notifications could
        // share a key and the second was dropped as a duplicate. Uniqueness is now a constraint on
        // the four columns themselves. SQLite cannot drop a UNIQUE column constraint, so the table
        // is rebuilt (keeping every id, which the outbox and the events refer to).
        migrator.registerMigration("v2-structural-dedupe") { db in
            try db.execute(sql: """
                CREATE TABLE notifications_v2 (
                    id INTEGER PRIMARY KEY,
                    occurrence_id INTEGER NOT NULL REFERENCES occurrences(id),
                    campaign_id TEXT NOT NULL,
                    category TEXT NOT NULL,
                    user_id TEXT NOT NULL,
                    channel TEXT NOT NULL,
                    device TEXT NOT NULL DEFAULT '', -- the push device's address; '' for the channel as a whole
                    provider TEXT,
                    address TEXT,
                    content TEXT,
                    state TEXT NOT NULL,
                    reason TEXT,
                    due_at REAL NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    provider_message_id TEXT,
                    created_at REAL NOT NULL,
                    updated_at REAL NOT NULL,
                    UNIQUE (occurrence_id, user_id, channel, device)
                );
                INSERT INTO notifications_v2 (id, occurrence_id, campaign_id, category, user_id, channel, device, provider,
                    address, content, state, reason, due_at, attempts, provider_message_id, created_at, updated_at)
                SELECT id, occurrence_id, campaign_id, category, user_id, channel,
                    CASE WHEN channel = 'push' AND address IS NOT NULL THEN address ELSE '' END,
                    provider, address, content, state, reason, due_at, attempts, provider_message_id, created_at, updated_at
                FROM notifications;
                DROP TABLE notifications;
                ALTER TABLE notifications_v2 RENAME TO notifications;
                CREATE INDEX notifications_by_campaign ON notifications (campaign_id, channel, state, reason);
                CREATE INDEX notifications_by_user ON notifications (user_id);
                """)
            // How an occurrence came to be: `audience` (a campaign sent to its audience, by
            // `send --now` or the schedule) or `users` (a send to named users). Only an audience
            // send counts as "the campaign was sent" when `send` refuses to repeat one.
            try db.execute(sql: "ALTER TABLE occurrences ADD COLUMN kind TEXT NOT NULL DEFAULT 'audience'")
            // Template parameters given for this send only (`send --param`), as a JSON object, so
            // that a resumed send renders what the interrupted one did.
            try db.execute(sql: "ALTER TABLE occurrences ADD COLUMN params TEXT NOT NULL DEFAULT '{}'")
        }
        // Frequency caps and expiry are applied when planning. The v1 cap ledger was never
        // written; it is replaced by one keyed for the planner's read (a user's slots from an
        // instant on) with what a cap narrows by (channel, category, campaign).
        migrator.registerMigration("v3-caps-and-expiry") { db in
            try db.execute(sql: """
                ALTER TABLE notifications ADD COLUMN expires_at REAL;
                DROP TABLE cap_ledger;
                CREATE TABLE cap_ledger (
                    user_id TEXT NOT NULL,
                    at REAL NOT NULL, -- when the notification is due
                    occurrence_id INTEGER NOT NULL,
                    channel TEXT NOT NULL,
                    category TEXT NOT NULL,
                    campaign_id TEXT NOT NULL,
                    PRIMARY KEY (user_id, at, occurrence_id, channel)
                ) WITHOUT ROWID;
                """)
        }
        // Events received for users (`herald trigger`, later the API), which plan the campaigns
        // that name them and which `performed()` and `count()` read; and which occurrence each
        // triggered campaign got, so that a repeated external id plans nothing twice.
        migrator.registerMigration("v3-received-events") { db in
            try db.execute(sql: """
                CREATE TABLE received_events (
                    id INTEGER PRIMARY KEY,
                    external_id TEXT UNIQUE, -- the sender's id for the event; NULL: every receipt is a new event
                    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    properties TEXT NOT NULL DEFAULT '{}', -- a JSON object, keys sorted
                    received_at REAL NOT NULL, -- when the event happened, seconds since 1970
                    recorded_at REAL NOT NULL
                );
                -- performed() and count() ask for one user's events of one name after an instant.
                CREATE INDEX received_events_by_user ON received_events (user_id, name, received_at);
                CREATE TABLE triggered_occurrences (
                    event_id INTEGER NOT NULL REFERENCES received_events(id) ON DELETE CASCADE,
                    campaign_id TEXT NOT NULL,
                    occurrence_id INTEGER NOT NULL REFERENCES occurrences(id),
                    due_at INTEGER NOT NULL, -- milliseconds since 1970: the event's instant plus the delay
                    PRIMARY KEY (event_id, campaign_id)
                );
                """)
        }
        // The scheduler: an occurrence it creates for a fire instant of the campaign's schedule is
        // marked `scheduled`, and is claimed with a planning lease (`lease_owner` until
        // `lease_until`, seconds since 1970; NULL: free to take) so that two schedulers plan it
        // once and a crashed one's occurrence is resumed. `scheduled_campaigns` keeps when a
        // scheduler first saw each campaign: a new cron campaign starts there, without backfill.
        migrator.registerMigration("v3-occurrence-leases") { db in
            try db.execute(sql: """
                ALTER TABLE occurrences ADD COLUMN scheduled INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE occurrences ADD COLUMN lease_owner TEXT;
                ALTER TABLE occurrences ADD COLUMN lease_until REAL;
                CREATE INDEX occurrences_scheduled_unfinished ON occurrences (fire_at) WHERE scheduled = 1 AND state = 'planning';
                CREATE TABLE scheduled_campaigns (
                    campaign_id TEXT PRIMARY KEY NOT NULL,
                    first_seen_at INTEGER NOT NULL -- milliseconds since 1970, like occurrences.fire_at
                );
                """)
        }
        // The outbox row carries the provider it waits for, so that each provider's dispatcher
        // lane claims its own rows through an index, and a slow provider never holds up another.
        // `claims` counts the claims of the row: with the lease owner it identifies one claim (a
        // repeat after a crash keeps its attempt number, so the attempt no longer does).
        migrator.registerMigration("v4-outbox-lanes") { db in
            try db.execute(sql: """
                ALTER TABLE outbox ADD COLUMN provider TEXT NOT NULL DEFAULT '';
                ALTER TABLE outbox ADD COLUMN claims INTEGER NOT NULL DEFAULT 0;
                UPDATE outbox SET provider = COALESCE((SELECT provider FROM notifications WHERE id = outbox.notification_id), '');
                CREATE INDEX outbox_by_lane ON outbox (channel, provider, due_at);
                """)
        }
        // What `herald queue` and the dead-letter commands read: each provider's breaker and
        // pause as the delivery workers last recorded them (one row per provider, upserted), the
        // sends of the last minute without scanning the trail, and the dead notifications without
        // scanning every notification (a partial index holds only those).
        migrator.registerMigration("v4-provider-health") { db in
            try db.execute(sql: """
                CREATE TABLE provider_health (
                    provider TEXT PRIMARY KEY,
                    channel TEXT,
                    breaker TEXT NOT NULL DEFAULT 'closed', -- closed | open | half_open
                    paused_reason TEXT, -- NULL: not paused
                    opened_at REAL, -- when the breaker opened; NULL while closed
                    updated_at REAL NOT NULL
                );
                CREATE INDEX events_by_type_time ON events (type, at);
                CREATE INDEX notifications_dead ON notifications (channel, provider, campaign_id) WHERE state = 'dead';
                """)
        }
        migrator.registerMigration("v5-requeues") { db in
            // How many times `herald dead-letter retry` sent a dead notification back; its
            // attempts count from 1 again, with idempotency ids of their own.
            try db.execute(sql: "ALTER TABLE notifications ADD COLUMN requeues INTEGER NOT NULL DEFAULT 0")
        }
        migrator.registerMigration("v5-device-service") { db in
            // The push service that issued the token (apns, fcm, webpush, jpush, pushy); NULL in
            // rows written before: the platform's default service.
            try db.execute(sql: "ALTER TABLE devices ADD COLUMN service TEXT")
        }
        migrator.registerMigration("v6-api-keys") { db in
            // API keys: the app key in clear, the secret only as a salted hash; scopes as a
            // comma-separated list; revoked keys are kept (their requests get 401).
            try db.execute(sql: """
                CREATE TABLE api_keys (
                    app_key TEXT PRIMARY KEY,
                    salt BLOB NOT NULL,
                    secret_hash BLOB NOT NULL,
                    scopes TEXT NOT NULL,
                    rate TEXT,
                    created_at REAL NOT NULL,
                    revoked_at REAL
                ) WITHOUT ROWID
                """)
        }
        migrator.registerMigration("v7-api-sends") { db in
            // `POST /v1/notifications` with an Idempotency-Key: the first request's body hash and
            // occurrence, then its answer. The occurrence is written with the row, so that a
            // retry after a crash finishes the same send instead of starting another.
            try db.execute(sql: """
                CREATE TABLE api_requests (
                    app_key TEXT NOT NULL,
                    idempotency_key TEXT NOT NULL,
                    request_hash TEXT NOT NULL,
                    occurrence_id INTEGER NOT NULL REFERENCES occurrences(id),
                    status INTEGER, -- NULL until the answer is known
                    response TEXT,
                    created_at REAL NOT NULL,
                    PRIMARY KEY (app_key, idempotency_key)
                ) WITHOUT ROWID;
                CREATE INDEX api_requests_by_age ON api_requests (created_at);
                -- Provider webhooks name a message by the provider's id (Twilio's SID, Mandrill's _id).
                CREATE INDEX notifications_by_provider_message ON notifications (provider_message_id) WHERE provider_message_id IS NOT NULL;
                -- Webhook events already applied, by the provider's event id (SendGrid's sg_event_id)
                -- or a key made of the message, the event and its time: a retried or replayed post
                -- records nothing twice.
                CREATE TABLE webhook_receipts (
                    provider TEXT NOT NULL,
                    event_key TEXT NOT NULL,
                    received_at REAL NOT NULL,
                    PRIMARY KEY (provider, event_key)
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v8-guests") { db in
            // People an API send names by address or token, not by user id: kept as users so that
            // the trail, the report, opt-outs and erasure treat them alike, and marked, so that no
            // campaign audience selects them.
            try db.execute(sql: """
                ALTER TABLE users ADD COLUMN guest INTEGER NOT NULL DEFAULT 0;
                -- Secrets the store makes for itself: `guest_ids` keys the HMAC that gives a guest
                -- their id, so that an id tells nothing of the address without the database.
                CREATE TABLE store_secrets (name TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL) WITHOUT ROWID;
                INSERT INTO store_secrets (name, value) VALUES ('guest_ids', randomblob(32));
                -- Users by address: the opt-outs a send to a guest at the same address honours, and
                -- the users a Twilio STOP reply from a number opts out.
                CREATE INDEX users_by_email ON users (lower(email));
                CREATE INDEX users_by_phone ON users (phone);
                """)
        }
        migrator.registerMigration("v9-experiments") { db in
            // A campaign's A/B test: each notification records its recipient's group (a variant,
            // `treatment` or `holdout`; NULL when the campaign tests nothing), and the campaign
            // what counts as a conversion, so that the report needs no workspace.
            try db.execute(sql: """
                ALTER TABLE notifications ADD COLUMN variant TEXT;
                ALTER TABLE campaigns ADD COLUMN conversion_event TEXT;
                ALTER TABLE campaigns ADD COLUMN conversion_window REAL; -- seconds
                """)
        }
        migrator.registerMigration("v10-no-stand-in-log") { db in
            // `sent_messages` held what the stand-in transport of the first versions "sent"
            // (nothing left the machine). The real transports record their outcome in
            // `notifications` and `events`; the table is dropped with the copies of addresses
            // and content it still holds.
            try db.execute(sql: "DROP TABLE IF EXISTS sent_messages")
        }
        migrator.registerMigration("v11-stalled-triggers") { db in
            // The scheduler looks for triggered occurrences whose planning stopped (a crash
            // between recording the event and planning it): few rows among every trigger ever.
            try db.execute(sql: """
                CREATE INDEX occurrences_trigger_unfinished ON occurrences (created_at) WHERE kind = 'trigger' AND state = 'planning'
                """)
        }
        migrator.registerMigration("v12-occurrence-definitions") { db in
            // The campaign file's text when a scheduled occurrence started: resumed after an
            // edit, it is finished with the definition it started with.
            try db.execute(sql: "ALTER TABLE occurrences ADD COLUMN definition TEXT")
        }
        migrator.registerMigration("v13-throttle-ledger") { db in
            // A throttled campaign's sends per interval, every occurrence together, written with
            // each page: a campaign's throttle holds across its sends and processes. (Sends
            // planned before this version are not in it.)
            try db.execute(sql: """
                CREATE TABLE throttle_ledger (
                    campaign_id TEXT NOT NULL,
                    seconds REAL NOT NULL, -- the rate's interval
                    interval INTEGER NOT NULL, -- instant / seconds, rounded down
                    used INTEGER NOT NULL,
                    PRIMARY KEY (campaign_id, seconds, interval)
                ) WITHOUT ROWID
                """)
        }
        migrator.registerMigration("v14-alert-incidents") { db in
            // The alert incidents open now, one row per incident key, shared by every process on
            // the file: the process whose insert adds the row posts the alert, the one whose
            // delete removes it posts the recovery. `provider` is '' for channel-wide kinds.
            try db.execute(sql: """
                CREATE TABLE alert_incidents (
                    kind TEXT NOT NULL,
                    channel TEXT NOT NULL,
                    provider TEXT NOT NULL DEFAULT '',
                    severity TEXT NOT NULL,
                    message TEXT NOT NULL,
                    started_at REAL NOT NULL,
                    PRIMARY KEY (kind, channel, provider)
                ) WITHOUT ROWID
                """)
        }
        migrator.registerMigration("v15-send-ledger") { db in
            // A throttled campaign's sends at delivery time, every process together: the slot
            // of its rate last claimed in and how many were claimed in it, read and written in
            // the transaction that claims (SendLedger), so that N workers draining a backlog
            // send at the campaign's rate, not N times it.
            try db.execute(sql: """
                CREATE TABLE send_ledger (
                    campaign_id TEXT PRIMARY KEY NOT NULL,
                    slot_seconds REAL NOT NULL, -- the slot length the slot is counted in
                    slot INTEGER NOT NULL, -- instant / slot_seconds, rounded down
                    used INTEGER NOT NULL
                ) WITHOUT ROWID
                """)
        }
        migrator.registerMigration("v16-alert-confirmations") { db in
            // When a process last saw an open incident's condition hold: a provider's incident
            // (each process sees the provider through its own breaker) is closed only once no
            // process has seen it for a while, so that two processes that disagree do not post
            // its recovery and then the same alert again. NULL: not seen since it was opened.
            try db.execute(sql: "ALTER TABLE alert_incidents ADD COLUMN confirmed_at REAL")
        }
        migrator.registerMigration("v17-workers") { db in
            // The delivery workers alive on this database (WorkerPresenceStore): each says so
            // every few seconds, and the workers sending through a provider divide its `rate:`.
            try db.execute(sql: """
                CREATE TABLE workers (
                    id TEXT PRIMARY KEY NOT NULL,
                    channels TEXT NOT NULL, -- comma-separated, sorted
                    host TEXT NOT NULL,
                    process_id INTEGER NOT NULL,
                    started_at REAL NOT NULL,
                    seen_at REAL NOT NULL
                ) WITHOUT ROWID
                """)
        }
        migrator.registerMigration("v18-typed-attribute-indexes") { db in
            // Audience SQL reads an attribute only when its JSON type is the declared one
            // (`CASE WHEN json_type(…) … THEN json_extract(…) END`), and an expression index
            // serves only its exact expression: the attribute indexes on `json_extract(…)` alone
            // go, and the store builds the typed ones when it opens (ensureAttributeIndexes). A
            // read-only open of a file that still has the old ones is then asked to upgrade it
            // first, rather than scanning every user.
            let names = try String.fetchAll(db, sql: #"""
                SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'users\_attribute\_%' ESCAPE '\'
                """#)
            for name in names {
                try db.execute(sql: "DROP INDEX \"\(name)\"")
            }
        }
        migrator.registerMigration("v19-provider-message-index-without-push") { db in
            // Only webhooks look a notification up by its provider's message id, and only SMS and
            // email providers post them (Twilio, Vonage, SendGrid, Mandrill). A push's id (APNs'
            // apns-id, FCM's message name) is random, and the pushes were most of the index's
            // writes: the outcomes of a group of 25 pushes dirtied some 37 random pages of it, of
            // the 81 pages the group's claim and outcomes wrote to the log. Push ids are still
            // recorded on the notification (`herald trace`).
            try db.execute(sql: """
                DROP INDEX notifications_by_provider_message;
                CREATE INDEX notifications_by_provider_message ON notifications (provider_message_id)
                    WHERE provider_message_id IS NOT NULL AND channel <> 'push';
                """)
        }
        return migrator
    }
}
