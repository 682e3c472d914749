"""The demo's world: tools with recorded side effects and the three-agent LangGraph graph.

This module deliberately has no ``from __future__ import annotations``: LangChain reads the tools'
``Annotated[..., InjectedState]`` hints at runtime.
"""

from collections.abc import Callable, Sequence
from typing import Annotated, Any

from langchain.agents import create_agent
from langchain_core.messages import ToolMessage
from langchain_core.tools import InjectedToolCallId, tool
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import InjectedState
from langgraph.types import Command

from ..integrations.langchain import GuardrailsMiddleware  # type: ignore[import-not-found,unused-ignore]
from .scenario import CUSTOMER_EMAIL, CUSTOMER_PHONE, PAGES

__all__ = ["World", "build_graph"]


class World:
    """The tools' side effects, recorded so the demo can prove what did and did not run."""

    def __init__(self) -> None:
        self.executed: list[tuple[str, dict[str, Any]]] = []

    def ran(self, name: str) -> list[dict[str, Any]]:
        return [a for n, a in self.executed if n == name]


def build_graph(guard: Any, world: World, model_for: Callable[[str], Any]) -> Any:
    @tool
    def get_order(order_id: str) -> str:
        """Look up an order by its id (two letters and eight digits)."""
        world.executed.append(("get_order", {"order_id": order_id}))
        return (f"Order {order_id}: shipped 2 days ago, arriving Friday. Customer: Jane Doe, "
                f"{CUSTOMER_EMAIL}, {CUSTOMER_PHONE}.")

    @tool
    def fetch_page(url: str) -> str:
        """Fetch a web page and return its text."""
        world.executed.append(("fetch_page", {"url": url}))
        return PAGES.get(url, "404 not found")

    @tool
    def send_email(to: str, subject: str, body: str) -> str:
        """Send an e-mail."""
        world.executed.append(("send_email", {"to": to, "subject": subject}))
        return f"e-mail sent to {to}"

    @tool
    def refund(order_id: str, amount: float) -> str:
        """Refund an amount for an order."""
        world.executed.append(("refund", {"order_id": order_id, "amount": amount}))
        return f"Refunded {amount:.2f} USD for order {order_id}."

    @tool
    def delete_account(user: str) -> str:
        """Delete a user account."""
        world.executed.append(("delete_account", {"user": user}))
        return f"account {user} deleted"

    def handoff(target: str) -> Any:
        @tool(f"transfer_to_{target}")
        def transfer(task: str, state: Annotated[dict[str, Any], InjectedState],
                     tool_call_id: Annotated[str, InjectedToolCallId]) -> Command[Any]:
            """Hand the conversation to another agent, with a short task description."""
            world.executed.append((f"transfer_to_{target}", {"task": task[:80]}))
            done = ToolMessage(content=f"Transferred to {target}.", name=f"transfer_to_{target}",
                               tool_call_id=tool_call_id)
            return Command(goto=target, graph=Command.PARENT,
                           update={"messages": [*state["messages"], done]})

        transfer.description = f"Hand the conversation to the {target} agent."
        return transfer

    def agent(name: str, tools: Sequence[Any], prompt: str) -> Any:
        return create_agent(model_for(name), list(tools), system_prompt=prompt, name=name,
                            middleware=[GuardrailsMiddleware(guard, agent=name)])

    support = agent("support", [get_order, fetch_page, send_email, handoff("billing"), handoff("admin")],
                    "You are the customer support agent of Example Corp. Use your tools. Hand refund "
                    "requests to billing.")
    billing = agent("billing", [refund], "You are the billing agent. Issue refunds when asked.")
    admin = agent("admin", [delete_account], "You are the account administration agent.")

    g = StateGraph(MessagesState)
    g.add_node("support", support, destinations=("billing", "admin", END))
    g.add_node("billing", billing)
    g.add_node("admin", admin)
    g.add_edge(START, "support")
    g.add_edge("billing", "support")
    g.add_edge("admin", END)
    return g.compile()
