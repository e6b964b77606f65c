"""Interactive sessions and statements (``/sessions``), on :class:`LivyTransport` (no Dagster).

Livy 0.7.1 here runs batches only (no REPL jars), so these are exercised against the HTTP fake.
Their waits are paced by the same :class:`~dagster_livy.polling.PollPolicy` as batch waits.
"""

from __future__ import annotations

from dagster_livy.bodies import build_statement_body
from dagster_livy.errors import LivyError, LivyStatementError, LivyTimeoutError
from dagster_livy.logs import strip_framing
from dagster_livy.models import SESSION_TERMINAL_STATES, LivyState, LogPage, Session, Statement, StatementState
from dagster_livy.polling import SESSION_POLL, Pacer, PollPolicy
from dagster_livy.transport import IdOrName, LivyTransport


def _policy(poll: PollPolicy | None, poll_s: float | None) -> PollPolicy:
    """`poll_s` (the old fixed interval) still works: a policy that never changes."""
    if poll is not None:
        return poll
    return PollPolicy(poll_s, poll_s) if poll_s is not None else SESSION_POLL


class LivySessionsAPI(LivyTransport):
    """The session and statement calls of :class:`dagster_livy.client.LivyClient`."""

    def create_session(self, body: dict) -> Session:
        """``POST /sessions`` (same by-name recovery as :meth:`submit_batch`)."""
        return self._create("sessions", body, Session)

    def get_session(self, id_or_name: IdOrName) -> Session:
        return Session.from_json(self._request("GET", ("sessions", id_or_name)))

    def get_session_state(self, id_or_name: IdOrName) -> LivyState:
        return self._get_state("sessions", id_or_name)

    def get_session_log(
        self, id_or_name: IdOrName, *, offset: int | None = None, size: int | None = None
    ) -> LogPage:
        return self._get_log("sessions", id_or_name, offset, size)

    def list_sessions(self, *, offset: int = 0, size: int = 100) -> list[Session]:
        return self._list("sessions", Session, offset, size)

    def delete_session(self, id_or_name: IdOrName) -> None:
        """``DELETE /sessions/{x}``; already gone (404) is not an error."""
        self._delete("sessions", id_or_name)

    def wait_for_session(
        self, session_id: IdOrName, *, timeout_s: float = 300.0, poll: PollPolicy | None = None,
        poll_s: float | None = None,
    ) -> Session:
        """Poll until ``idle``; LivyError (with the log tail) on error/dead/killed/success.

        Paced by ``poll`` (default :data:`~dagster_livy.polling.SESSION_POLL`: fast at first and
        after each state change, then every second); ``poll_s`` is a fixed interval instead.
        """
        pacer = Pacer(_policy(poll, poll_s), clock=self._clock, sleep=self._sleep)
        start = self._clock()
        last_state = None
        while True:
            pacer.mark()
            s = self.get_session(session_id)
            if s.state is LivyState.IDLE:
                return s
            if s.state in SESSION_TERMINAL_STATES:
                tail = strip_framing(self.get_session_log(session_id, size=50).lines)
                raise LivyError(
                    f"Livy session {s.id} ended in state {s.raw_state} before becoming idle. "
                    "Log tail:\n" + "\n".join(tail))
            waited = self._clock() - start
            if waited >= timeout_s:
                raise LivyTimeoutError(
                    f"Livy session {s.id} not idle after {waited:.0f}s (state {s.raw_state})",
                    waited_s=waited, last_state=s.raw_state)
            pacer.wait(activity=last_state is not None and s.state != last_state)
            last_state = s.state

    # -- statements ------------------------------------------------------------------------
    def run_statement(
        self, session_id: IdOrName, code: str, kind: str | None = None
    ) -> Statement:
        """``POST /sessions/{x}/statements``; never retried (it would run the code twice)."""
        body = build_statement_body(code, kind)
        return Statement.from_json(
            self._request("POST", ("sessions", session_id, "statements"), body=body))

    def get_statement(self, session_id: IdOrName, statement_id: int) -> Statement:
        path = ("sessions", session_id, "statements", statement_id)
        return Statement.from_json(self._request("GET", path))

    def cancel_statement(self, session_id: IdOrName, statement_id: int) -> None:
        self._request("POST", ("sessions", session_id, "statements", statement_id, "cancel"))

    def execute(
        self, session_id: IdOrName, code: str, *, kind: str | None = None,
        timeout_s: float = 600.0, poll: PollPolicy | None = None, poll_s: float | None = None,
    ) -> Statement:
        """Run ``code`` and wait for its result; LivyStatementError on error output.

        Paced like :meth:`wait_for_session` (a state change, e.g. waiting -> running, polls
        fast again). On timeout the statement is cancelled first, then LivyTimeoutError is raised.
        """
        pacer = Pacer(_policy(poll, poll_s), clock=self._clock, sleep=self._sleep)
        pacer.mark()
        st = self.run_statement(session_id, code, kind)
        start = self._clock()
        last_state = st.state
        while not st.state.is_terminal:
            waited = self._clock() - start
            if waited >= timeout_s:
                try:
                    self.cancel_statement(session_id, st.id)
                except LivyError:
                    pass  # best effort: the timeout is the error to report
                raise LivyTimeoutError(
                    f"statement {st.id} of session {session_id} still {st.state.value} "
                    f"after {waited:.0f}s; cancel requested",
                    waited_s=waited, last_state=st.state.value)
            pacer.wait(activity=st.state != last_state)
            last_state = st.state
            pacer.mark()
            st = self.get_statement(session_id, st.id)
        if st.state is StatementState.CANCELLED:
            raise LivyStatementError(
                f"statement {st.id} of session {session_id} was cancelled", ename="Cancelled")
        st.raise_for_error()
        return st
