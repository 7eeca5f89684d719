"""providers.response_cache_memory.RecentEntries: a hot entry's renderings are kept beside it, and only
for the very entry they were made from."""
from providers.response_cache_memory import RecentEntries


def test_a_rendering_is_reused_only_for_the_entry_it_was_made_from():
    recent, renders = RecentEntries(), []

    def render(body):
        def made():
            renders.append(body)
            return body
        return made

    entry = {"message": {"id": "msg_first"}}
    recent.put("key", entry)
    assert recent.rendered("key", entry, "json", render(b"first")) == b"first"
    assert recent.rendered("key", entry, "json", render(b"again")) == b"first"  # kept, not rendered again
    assert recent.rendered("key", entry, "sse", render(b"event: first")) == b"event: first"  # each form its own
    refreshed = {"message": {"id": "msg_refreshed"}}
    recent.put("key", refreshed)  # a refreshed answer under the same key
    assert recent.rendered("key", refreshed, "json", render(b"refreshed")) == b"refreshed"
    assert recent.rendered("key", entry, "json", render(b"old entry")) == b"old entry"  # not the held entry
    recent.forget("key")
    assert recent.rendered("key", refreshed, "json", render(b"forgotten")) == b"forgotten"
    assert renders == [b"first", b"event: first", b"refreshed", b"old entry", b"forgotten"]
