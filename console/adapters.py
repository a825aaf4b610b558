from allauth.account.adapter import DefaultAccountAdapter


class ConsoleAccountAdapter(DefaultAccountAdapter):
    """Accounts are created by administrators (IAM), never by public sign-up."""

    def is_open_for_signup(self, request):
        return False
