/// The examples of spec/campaign-format.md with real values in place of `…`: a workspace that
/// must load without a single diagnostic.
enum SampleWorkspace {
    static let environment = [
        "APNS_KEY_FILE": "keys/apns.p8",
        "FCM_SERVICE_ACCOUNT": "keys/fcm.json",
        "VAPID_KEY_FILE": "keys/vapid.pem",
        "TWILIO_AUTH_TOKEN": "twilio-token-1",
        "VONAGE_API_SECRET": "vonage-secret",
        "SENDGRID_API_KEY": "SG.key",
        "SMTP_PASSWORD": "smtp-pass",
        "HERALD_TRACKING_SECRET": "tracking-secret-0123456789",
    ]

    static let configuration = """
    store: sqlite:herald.db            # or postgres://user@host/db (later)
    default_timezone: UTC              # for recipients without a valid IANA zone
    attributes:                        # the schema that audience rules are type-checked against
      country: string
      plan: {type: string, values: [free, pro, enterprise]}
      last_seen_at: time
      lifetime_value: number
      tags: [string]
      wishlist: [string]
      beta: bool

    providers:
      apns:     {kind: apns, team_id: ABCDE12345, key_id: KEY1234567, key_file: ${APNS_KEY_FILE}, topic: com.example.shop, environment: production}
      fcm:      {kind: fcm, service_account_file: ${FCM_SERVICE_ACCOUNT}}
      webpush:  {kind: webpush, vapid_private_key_file: ${VAPID_KEY_FILE}, subject: "mailto:ops@example.com"}
      twilio:   {kind: twilio, account_sid: AC0123456789abcdef0123456789abcdef, auth_token: ${TWILIO_AUTH_TOKEN}, from: "+15005550006", rate: 100/s}
      vonage:   {kind: vonage, api_key: a1b2c3d4, api_secret: ${VONAGE_API_SECRET}, from: HERALD}
      sendgrid: {kind: sendgrid, api_key: ${SENDGRID_API_KEY}, from: "Shop <news@example.com>", rate: 600/min}
      smtp:     {kind: smtp, url: "smtp://mail.example.com:587", username: herald, password: ${SMTP_PASSWORD}, from: "Shop <news@example.com>"}
      # every provider takes base_url (or url) so it can point at `herald sandbox`

    channels:
      push:  {ios: apns, android: fcm, web: webpush}  # by device platform; a user's every active device gets it
      sms:   [twilio, vonage]                          # failover order
      email: [sendgrid, smtp]

    limits:
      frequency_caps:                                  # global: across all campaigns
        - {max: 3, per: 1d, channel: push}
        - {max: 10, per: 7d}
        - {max: 1, per: calendar_day, channel: sms}    # calendar day in the recipient's zone
      quiet_hours: {from: "21:00", to: "08:00", then: delay}   # delay | drop; recipient's local time

    retry: {max_attempts: 8, initial: 2s, max: 30m}    # exponential, with jitter; Retry-After wins
    tracking: {base_url: "https://t.example.com", secret: ${HERALD_TRACKING_SECRET}, opens: true, clicks: true}
    api:
      listen: 127.0.0.1:8080

    """

    static let campaign = """
    campaign: restock-air-max            # id: [a-z0-9-]+, unique, equal to the file name
    description: Tell wishlisters the Air Max is back
    category: marketing                  # marketing (default) | transactional | any topic a user can opt out of
    audience:
      where: country in ["KR", "JP"] and "sku-123" in wishlist and last_seen_at > now() - 30d
      # or: segment: wishlisters         (segments/wishlisters.yml holds {segment:, where:})
    channels: [push, email]              # order of preference
    delivery: first_available            # first_available: the first channel the user can receive | all
    template: restock                    # templates/restock.yml (+ locale variants)
    params:                              # campaign-wide template parameters
      item_name: Air Max 90
      order_by: 2026-12-01
    schedule:                            # exactly one of at / cron / trigger
      at: 2026-12-01T09:00               # a wall-clock time…
      timezone: recipient                # …in each recipient's zone (falls back to default_timezone), or an IANA zone
      # cron: "0 9 * * MON"              # recurring; with timezone: Asia/Seoul; optional between: {start:, end:}
      # trigger: {event: cart_abandoned, delay: 1h}   # sent when the API receives that event for a user
    frequency_caps:                      # this campaign's own caps, on top of the global ones
      - {max: 1, per: 1d}
    quiet_hours: {from: "22:00", to: "08:00", then: delay}   # overrides the global one
    throttle: 2000/min                   # spread this campaign's sends
    expires_after: 2d                    # not sent after this long past its due time: skipped(expired)

    """

    static let weekly = """
    campaign: weekly-digest
    category: digest
    audience:
      segment: wishlisters
    channels: [email, sms]
    delivery: all
    template: restock
    schedule:
      cron: "0 9 * * MON"
      timezone: Asia/Seoul
      between: {start: 2026-12-01T00:00, end: 2027-01-31T23:59}

    """

    static let abandoned = """
    campaign: cart-abandoned
    category: transactional
    channels: [push]
    template: restock
    schedule:
      trigger: {event: cart_abandoned, delay: 1h}

    """

    static let segment = """
    segment: wishlisters
    description: People who wishlisted the Air Max
    where: |
      "sku-123" in wishlist
        and beta

    """

    static let template = """
    template: restock
    push:
      title: "{{item_name}} is back"
      body: "Order by {{order_by}}, {{first_name}}."
      url: "https://shop.example.com/items/sku-123"    # tracked as a click when opened
      data: {sku: sku-123}
    sms:
      body: "{{item_name}} is back. Order: {{link}} Reply STOP to opt out"
    email:
      subject: "{{item_name}} is back in stock"
      html: restock.html                  # a file beside this one; links in it are tracked
      text: restock.txt                   # optional; derived from the HTML when absent

    """

    static let koreanTemplate = """
    push:
      title: "{{item_name}} 재입고"
    email:
      html: restock.ko.html

    """

    static let files: [String: String] = [
        "herald.yml": configuration,
        "campaigns/restock-air-max.yml": campaign,
        "campaigns/weekly-digest.yml": weekly,
        "campaigns/cart-abandoned.yml": abandoned,
        "segments/wishlisters.yml": segment,
        "templates/restock.yml": template,
        "templates/restock.ko.yml": koreanTemplate,
        "templates/restock.html": "<p>{{item_name}} is back</p>\n",
        "templates/restock.txt": "{{item_name}} is back\n",
        "templates/restock.ko.html": "<p>{{item_name}} 재입고</p>\n",
        "campaigns/README.md": "Campaigns live here.\n",
        "keys/apns.p8": privateKey,
        "keys/vapid.pem": privateKey,
        "keys/fcm.json": serviceAccount,
    ]

    /// A P-256 key made for these tests (openssl genpkey): the push providers' key files must
    /// exist and hold a PEM private key.
    static let privateKey = """
    -----BEGIN PRIVATE KEY-----
    MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgu0ST7AqoFYqlEAhc
    j3tM8i1YGT6zxo9tL8Iyxcbxe42hRANCAARVFHhmVUJ7SgrdCHVPNNoFuZqvdnPF
    TCv7XtBCOvOUfH0aHypAHE6xH7+IZ5JwN8WvyVXRMwR6PEwgfcKTs/7r
    -----END PRIVATE KEY-----
    """

    /// The fields of a service-account key file that the FCM provider needs.
    static let serviceAccount = """
    {"type": "service_account", "project_id": "herald-test", "private_key": "-----BEGIN PRIVATE KEY-----\\n…\\n-----END PRIVATE KEY-----\\n",
     "client_email": "herald@herald-test.iam.gserviceaccount.com", "token_uri": "https://oauth2.googleapis.com/token"}
    """
}
