"""The address the join link and its QR code give phones: PUBLIC_ORIGIN, a named or found venue
address when the server listens beyond this computer, else the moderator's own address with a warning."""

import ipaddress

import pytest

from roadmap.services import venue

LOCAL_REQUEST = "http://127.0.0.1:5000/"


def test_the_found_venue_addresses_are_ipv4_and_never_loopback():
    for address in venue.venue_addresses():
        parsed = ipaddress.ip_address(address)
        assert parsed.version == 4 and not parsed.is_loopback and not parsed.is_unspecified


def test_public_origin_wins_whatever_the_server_listens_on():
    origin = venue.join_origin("https://roadmap.example.org/", "192.168.1.7", "127.0.0.1", 5000, LOCAL_REQUEST)
    assert origin == venue.JoinOrigin("https://roadmap.example.org", True)


def test_a_named_join_host_is_used_with_the_servers_port():
    assert venue.join_origin(None, "192.168.1.7", "0.0.0.0", 5001, LOCAL_REQUEST) == venue.JoinOrigin(
        "http://192.168.1.7:5001", True
    )


def test_listening_on_every_interface_gives_a_venue_address_of_this_machine():
    addresses = venue.venue_addresses()
    if not addresses:
        pytest.skip("this machine has no network address besides loopback")
    origin = venue.join_origin(None, None, "0.0.0.0", 5000, LOCAL_REQUEST)
    assert origin == venue.JoinOrigin(f"http://{addresses[0]}:5000", True)


def test_listening_on_one_venue_address_gives_that_address():
    assert venue.join_origin(None, None, "10.0.0.5", 8000, LOCAL_REQUEST) == venue.JoinOrigin(
        "http://10.0.0.5:8000", True
    )


@pytest.mark.parametrize("listen_host", ["127.0.0.1", "localhost", "::1"])
def test_listening_on_loopback_keeps_the_moderators_address_and_says_phones_cannot_reach_it(listen_host):
    assert venue.join_origin(None, None, listen_host, 5000, LOCAL_REQUEST) == venue.JoinOrigin(
        "http://127.0.0.1:5000", False
    )


def test_a_moderator_who_reached_a_loopback_server_through_a_proxy_name_gets_that_name():
    origin = venue.join_origin(None, None, "127.0.0.1", 5000, "https://roadmap.school.example/")
    assert origin == venue.JoinOrigin("https://roadmap.school.example", True)


def test_private_addresses_come_before_public_ones(monkeypatch):
    monkeypatch.setattr(venue.socket, "gethostname", lambda: "laptop")
    monkeypatch.setattr(
        venue.socket,
        "getaddrinfo",
        lambda *args: [
            (2, 2, 17, "", ("203.0.113.9", 0)),
            (2, 2, 17, "", ("127.0.1.1", 0)),
            (2, 2, 17, "", ("192.168.10.23", 0)),
        ],
    )
    found = venue.venue_addresses()
    assert found.index("192.168.10.23") < found.index("203.0.113.9")
    assert "127.0.1.1" not in found


def test_the_dashboard_warns_when_phones_cannot_reach_the_join_link(client, app, world):
    moderator = world.moderator()
    training = world.training(moderator)
    client.post("/sign-in", data={"email": moderator.email, "password": "correct horse battery"})

    app.config.update(HOST="127.0.0.1", PUBLIC_ORIGIN=None, JOIN_HOST=None)
    warned = client.get(f"/moderate/trainings/{training.id}").get_data(as_text=True)
    app.config.update(HOST="0.0.0.0", JOIN_HOST="192.168.10.23", PORT=5000)
    reachable = client.get(f"/moderate/trainings/{training.id}").get_data(as_text=True)

    assert "ROADMAP_HOST=0.0.0.0 make run" in warned
    assert "ROADMAP_HOST=0.0.0.0 make run" not in reachable
    assert f"http://192.168.10.23:5000/?code={training.join_code}" in reachable
