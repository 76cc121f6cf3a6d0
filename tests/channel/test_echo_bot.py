from bot.devchannel import ChannelConversation, ChannelUser


async def test_echo(echo_bot):
    ch = echo_bot
    alice = ChannelUser.named("Alice Analyst")
    conv = ChannelConversation.personal(alice)
    status = await ch.send_message(alice, conv, "hello")
    assert status in (200, 201)
    call = await ch.wait_for(lambda c: c.kind in ("send", "reply"))
    assert call.activity["text"] == "echo: hello"
