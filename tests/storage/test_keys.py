"""Keys are a persisted contract: their exact strings are pinned here."""

from storage.keys import Keys


def test_key_strings_are_stable() -> None:
    keys = Keys("tiengdan", "ht")
    assert keys.citizen("tg:42") == "tiengdan:{ht}:v1:citizen:tg:42"
    assert keys.citizen_consents("tg:42") == "tiengdan:{ht}:v1:citizen:tg:42:consents"
    assert keys.session("tg:42") == "tiengdan:{ht}:v1:session:tg:42"
    assert keys.petition("HT-2026-000123") == "tiengdan:{ht}:v1:petition:HT-2026-000123"
    assert keys.petition_prefix() + "HT-2026-000123" == keys.petition("HT-2026-000123")
    assert keys.petition_by_draft("abc") == "tiengdan:{ht}:v1:petition:by-draft:abc"
    assert keys.petition_counter(2026) == "tiengdan:{ht}:v1:counter:petition:2026"
    assert keys.petitions_by_citizen("tg:42") == "tiengdan:{ht}:v1:idx:petitions:citizen:tg:42"
    assert keys.petitions_by_locality("18073") == "tiengdan:{ht}:v1:idx:petitions:locality:18073"
    assert keys.petitions_by_category("land") == "tiengdan:{ht}:v1:idx:petitions:category:land"
    assert keys.petitions_by_status("submitted") == "tiengdan:{ht}:v1:idx:petitions:status:submitted"
    assert keys.petitions_by_time() == "tiengdan:{ht}:v1:idx:petitions:created"
    assert keys.handled_updates() == "tiengdan:{ht}:v1:updates:handled"
    assert keys.update_offset() == "tiengdan:{ht}:v1:updates:offset"
    assert keys.poller_heartbeat() == "tiengdan:{ht}:v1:heartbeat:poller"
    assert keys.process_heartbeat("web-1") == "tiengdan:{ht}:v1:heartbeat:process:web-1"
    assert keys.processes() == "tiengdan:{ht}:v1:processes"
    assert keys.official("ts-officer") == "tiengdan:{ht}:v1:official:ts-officer"
    assert keys.officials() == "tiengdan:{ht}:v1:officials"
    assert keys.official_by_telegram(42) == "tiengdan:{ht}:v1:official:by-telegram:42"
    assert keys.unit("ubnd-thanh-sen") == "tiengdan:{ht}:v1:unit:ubnd-thanh-sen"
    assert keys.units() == "tiengdan:{ht}:v1:units"
    assert keys.directory_settings() == "tiengdan:{ht}:v1:directory:settings"
    assert keys.invite("abc") == "tiengdan:{ht}:v1:invite:abc"
    assert keys.topic(-100123, 7) == "tiengdan:{ht}:v1:topic:-100123:7"
    assert keys.timers_due() == "tiengdan:{ht}:v1:timers:due"
    assert keys.audit() == "tiengdan:{ht}:v1:audit"
    assert keys.timers_inflight() == "tiengdan:{ht}:v1:timers:inflight"
    assert keys.dialogue("7") == "tiengdan:{ht}:v1:dialogue:7"
    assert keys.dialogue_counter() == "tiengdan:{ht}:v1:counter:dialogue"
    assert keys.dialogues_by_time() == "tiengdan:{ht}:v1:idx:dialogues:starts"
    assert keys.dialogue_attendees("7") == "tiengdan:{ht}:v1:dialogue:7:attendees"
    assert keys.dialogue_reminded("7") == "tiengdan:{ht}:v1:dialogue:7:remind"
    assert keys.dialogue_questions("7") == "tiengdan:{ht}:v1:dialogue:7:questions"
    assert keys.dialogue_delivered("7", "24h-1") == "tiengdan:{ht}:v1:dialogue:7:delivered:24h-1"
    assert keys.dialogue_compose(42) == "tiengdan:{ht}:v1:dialogue:compose:42"
    assert keys.subscribers_locality("18073") == "tiengdan:{ht}:v1:subscribers:locality:18073"
    assert keys.subscribers_province() == "tiengdan:{ht}:v1:subscribers:province"
    assert keys.citizen_subscriptions("tg:42") == "tiengdan:{ht}:v1:citizen:tg:42:subscriptions"
    assert keys.subscription_offer("tg:42") == "tiengdan:{ht}:v1:citizen:tg:42:subscription-offer"
    assert keys.unreachable() == "tiengdan:{ht}:v1:citizens:unreachable"
    assert keys.awaiting(42) == "tiengdan:{ht}:v1:awaiting:42"
    assert keys.broadcast("b1") == "tiengdan:{ht}:v1:broadcast:b1"
    assert keys.broadcast_recipients("b1") == "tiengdan:{ht}:v1:broadcast:b1:recipients"
    assert keys.broadcast_inflight("b1") == "tiengdan:{ht}:v1:broadcast:b1:inflight"
    assert keys.broadcast_status("b1") == "tiengdan:{ht}:v1:broadcast:b1:status"
    assert keys.broadcast_staging("b1") == "tiengdan:{ht}:v1:broadcast:b1:staging"
    assert keys.broadcasts_active() == "tiengdan:{ht}:v1:broadcasts:active"
    assert keys.broadcasts() == "tiengdan:{ht}:v1:broadcasts"
    assert keys.broadcast_pacer() == "tiengdan:{ht}:v1:broadcasts:pacer"
    assert keys.broadcast_draft(42) == "tiengdan:{ht}:v1:broadcast:draft:42"
    assert (
        keys.open_petitions_by_assignee("ts-officer") == "tiengdan:{ht}:v1:idx:petitions:assignee:ts-officer"
    )


def test_every_key_shares_the_province_hash_tag() -> None:
    keys = Keys("p", "qn")
    built = [
        keys.citizen("x"),
        keys.session("x"),
        keys.petition("T"),
        keys.petition_counter(2027),
        keys.petitions_by_time(),
        keys.handled_updates(),
        keys.update_offset(),
    ]
    assert all("{qn}" in key for key in built)
    assert all(key.startswith(keys.root + ":") for key in built)


def test_privacy_keys_and_the_personal_data_registry() -> None:
    keys = Keys("tiengdan", "ht")
    assert keys.flood("tg:42") == "tiengdan:{ht}:v1:flood:tg:42"
    assert keys.retention_sweep() == "tiengdan:{ht}:v1:retention:sweep"
    personal = keys.personal_data_keys("tg:42")
    for expected in (
        keys.citizen("tg:42"),
        keys.citizen_consents("tg:42"),
        keys.session("tg:42"),
        keys.petitions_by_citizen("tg:42"),
        keys.flood("tg:42"),
    ):
        assert expected in personal
    assert all(key.startswith(keys.root + ":") for key in personal + keys.personal_data_member_patterns())


def test_me_too_and_topic_keys() -> None:
    keys = Keys("tiengdan", "ht")
    assert keys.similar_docs() == "tiengdan:{ht}:v1:similar:docs"
    assert keys.similar_df() == "tiengdan:{ht}:v1:similar:df"
    assert keys.similar_bucket("18073", "land") == "tiengdan:{ht}:v1:similar:open:18073:land"
    assert (
        keys.similar_postings("18073", "land", "duong") == "tiengdan:{ht}:v1:similar:open:18073:land:t:duong"
    )
    assert keys.similar_built() == "tiengdan:{ht}:v1:similar:built"
    assert keys.cosigners("HT-2026-000123") == "tiengdan:{ht}:v1:cosigners:HT-2026-000123"
    assert keys.cosigned_by_citizen("tg:42") == "tiengdan:{ht}:v1:citizen:tg:42:cosigned"
    assert keys.cosigner_verdicts("HT-2026-000123") == "tiengdan:{ht}:v1:cosigner-verdicts:HT-2026-000123"
    assert keys.topic_corrections() == "tiengdan:{ht}:v1:topics:corrections"
    # Co-signatures are personal data: "delete my data" erases them.
    assert "tiengdan:{ht}:v1:citizen:tg:42:cosigned" in keys.personal_data_keys("tg:42")
    patterns = keys.personal_data_member_patterns()
    assert "tiengdan:{ht}:v1:cosigners:*" in patterns
    assert "tiengdan:{ht}:v1:cosigner-verdicts:*" in patterns
