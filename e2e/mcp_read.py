"""Reads one secret through the MCP snippets the dashboard showed, as an MCP host would use
them, with the official MCP Python SDK: the stdio JSON (its command, args and env run as a
server process) and the hosted JSON (its URL and headers over streamable HTTP).

Usage: mcp_read.py STDIO_JSON_FILE HOSTED_JSON_FILE PATH
Prints the value each transport read, one per line; exits non-zero if a read fails.
"""
import asyncio
import json
import os
import sys

from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


async def get_secret(client, path):
    async with client as session:
        result = await session.call_tool("get_secret", {"path": path})
        text = result.content[0].text
        assert not result.is_error, text
        return json.loads(text)["value"]


async def main(stdio_file, hosted_file, path):
    stdio = json.load(open(stdio_file))["mcpServers"]["oneclaw"]
    env = {"PATH": os.environ.get("PATH", ""), **stdio["env"]}
    params = StdioServerParameters(command=stdio["command"], args=stdio["args"], env=env)
    print(await get_secret(Client(params, mode="auto"), path))

    hosted = json.load(open(hosted_file))["mcpServers"]["oneclaw"]
    http = create_mcp_http_client(headers=hosted["headers"])
    async with http:
        print(await get_secret(Client(streamable_http_client(hosted["url"], http_client=http), mode="auto"), path))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
