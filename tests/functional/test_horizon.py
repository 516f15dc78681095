"""The Horizon Mistral UI in a real browser (issue 18): Debian's chromium, headless, driven
through its chromedriver, against the lab's Horizon with mistral-dashboard (tools/lab up).
Operators fill the Execute form as it is shown: only the boxes they must, the rest as
pre-filled. Screenshots of each step are kept in .stestr/horizon/."""
import json
import os
import re
import secrets
import time

from selenium.common import exceptions
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from actions import drill
from actions import install
from actions import plan as plan_mod
from tests.functional import base
from tests.functional import test_failover

SHOTS = os.path.join(base.ROOT, '.stestr', 'horizon')


class TestHorizon(test_failover.FailoverTestCase):
    """A one-server workload on site-a with its plan saved at site-b, granted to the project
    of a member at site-b (Mistral's Keystone), who runs it from Horizon."""
    prefix = 'hz'

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with open(os.path.join(base.LAB, 'horizon', 'url')) as f:
            cls.url = f.read().strip()
        with open(os.path.join(base.LAB, 'lab.json')) as f:
            cls.admin_password = json.load(f)['site-b']['admin']
        b = cls.target
        ops = b.identity.create_project(name=cls.name + '-ops', domain_id='default')
        cls.addClassCleanup(b.identity.delete_project, ops)
        cls.member_password = secrets.token_urlsafe(16)
        member = b.identity.create_user(name=cls.name + '-ann', password=cls.member_password,
                                        domain_id='default', default_project_id=ops.id)
        cls.addClassCleanup(b.identity.delete_user, member)
        b.identity.assign_project_role_to_user(ops, member, b.identity.find_role('member'))
        cls.member = member.name
        saved = install.bind(plan_mod.validate(dict(
            cls.plan, access={'projects': [ops.name]})), b)
        cls.reference = plan_mod.save(saved)
        cls.addClassCleanup(b.object_store.delete_object, cls.name + '.json',
                            container=plan_mod.REGISTRY)
        cls.addClassCleanup(drill.cleanup, saved, min_age_minutes=0)
        os.makedirs(SHOTS, exist_ok=True)
        options = webdriver.ChromeOptions()
        options.binary_location = '/usr/bin/chromium'
        for arg in ('--headless=new', '--no-sandbox', '--disable-dev-shm-usage',
                    '--window-size=1400,1000'):
            options.add_argument(arg)
        cls.browser = webdriver.Chrome(service=Service('/usr/bin/chromedriver'),
                                       options=options)
        cls.addClassCleanup(cls.browser.quit)
        # Horizon replaces what it loads (modals, running rows) under the test's feet.
        cls.wait = WebDriverWait(cls.browser, 30, ignored_exceptions=(
            exceptions.NoSuchElementException, exceptions.StaleElementReferenceException))

    # ---- what an operator does
    def shot(self, name):
        self.browser.save_screenshot(os.path.join(SHOTS, name + '.png'))

    def login(self, user, password):
        b = self.browser
        # Leave the last page first: a request of it still running could set the session
        # cookie again (CI saw the login page answer 302, still logged in); then clear
        # every cookie (Horizon refuses a GET logout: 405).
        b.get('about:blank')
        b.execute_cdp_cmd('Network.clearBrowserCookies', {})
        b.get(self.url + 'auth/login/')
        b.find_element(By.ID, 'id_username').send_keys(user)
        b.find_element(By.ID, 'id_password').send_keys(password)
        b.find_element(By.ID, 'loginBtn').click()
        self.wait.until(ec.url_contains('/project/'))

    def execute(self, workflow, typed, shot):
        """Open the Workflows page, click the workflow's Execute, type `typed` (box: text)
        over what the form pre-filled, submit; returns the new execution's ID."""
        b = self.browser
        b.get(self.url + 'mistral/workflows/')
        b.find_element(By.CSS_SELECTOR,
                       'a[href$="/mistral/workflows/%s/execute"]' % workflow).click()
        form = self.wait.until(ec.visibility_of_element_located(
            (By.CSS_SELECTOR, '.modal form')))
        for box, text in typed.items():
            field = form.find_element(By.ID, 'id_' + box)
            field.clear()
            field.send_keys(text)
        self.shot(shot + '-1-form')
        form.find_element(By.CSS_SELECTOR, '[type=submit]').click()
        toast = self.wait.until(ec.visibility_of_element_located(
            (By.CSS_SELECTOR, '.alert-success')))
        return re.search(r'id "([0-9a-f-]{36})"', toast.text).group(1)

    def wait_success(self, execution_id, shot, timeout=600, want='SUCCESS'):
        """Reload the Executions page until the execution is final; then open its output
        from there and its page. Returns (output, the page's overview) once in state
        `want`."""
        b = self.browser
        deadline = time.monotonic() + timeout
        while True:
            b.get(self.url + 'mistral/executions/')
            headers = [h.text for h in b.find_elements(By.CSS_SELECTOR, 'table thead th')]
            try:
                cells = b.find_elements(By.XPATH, '//tr[.//a[contains(@href, "%s")]]/td'
                                        % execution_id)
                state = cells[headers.index('State')].text.upper()  # the label: Success
            except exceptions.StaleElementReferenceException:
                continue  # the page itself refreshed the running execution's row
            if state in base.FINAL_STATES or time.monotonic() > deadline:
                break
            time.sleep(3)
        self.shot(shot + '-2-executions')
        cells[headers.index('Output')].find_element(By.TAG_NAME, 'a').click()
        # The modal says "Loading..." until the output came.
        output = self.wait.until(lambda _: '{' in b.find_element(
            By.CSS_SELECTOR, '.modal .modal-body').text and b.find_element(
            By.CSS_SELECTOR, '.modal .modal-body').text)
        self.shot(shot + '-3-output')
        b.get(self.url + 'mistral/executions/%s/detail' % execution_id)
        overview = b.find_element(By.CSS_SELECTOR, '.detail').text
        if want != 'SUCCESS':
            self.shot(shot + '-4-detail')
        self.assertEqual(want, state, overview)
        return output, overview

    # ---- the tests
    def test_1_the_admin_checks_the_sites_with_what_the_form_pre_fills(self):
        self.login('admin', self.admin_password)
        self.browser.get(self.url + 'mistral/workflows/')
        self.shot('1-workflows')
        execution_id = self.execute('draas.sites.check', {'sites': '["site-a","site-b"]'},
                                    '2-sites-check')
        output, overview = self.wait_success(execution_id, '2-sites-check')
        self.assertIn('Sites site-a, site-b are healthy', output)
        self.assertIn('draas.sites.check: sites site-a, site-b', overview)

    def test_2_a_malformed_list_fails_naming_the_input_first_in_state_info(self):
        self.login('admin', self.admin_password)
        execution_id = self.execute('draas.sites.check', {'sites': '["site-a",'},
                                    '6-malformed-sites')
        self.wait_success(execution_id, '6-malformed-sites', want='ERROR')
        state_info = self.browser.find_element(  # on the execution's page now
            By.XPATH, '//dt[normalize-space()="State Info"]/following-sibling::dd[1]').text
        self.assertTrue(state_info.startswith('sites: not valid JSON or YAML (expected a list, '
                                              'e.g. ["site-a", "site-b"])'), state_info)

    def test_3_a_member_checkpoints_dry_runs_a_failover_and_drills_the_saved_plan(self):
        self.login(self.member, self.member_password)
        execution_id = self.execute('draas.checkpoint.create', {'plan': self.reference},
                                    '3-checkpoint')
        output, overview = self.wait_success(execution_id, '3-checkpoint')
        self.assertRegex(output, r'Checkpoint \S+ of plan %s committed' % self.name)
        self.assertIn('draas.checkpoint.create: plan %s (site-a -> site-b)' % self.name,
                      overview)

        execution_id = self.execute('draas.failover.failover',
                                    {'plan': self.reference, 'dry_run': 'true'},
                                    '4-failover-dry-run')
        output, overview = self.wait_success(execution_id, '4-failover-dry-run')
        self.assertIn('Dry run of an unplanned failover of plan %s to site-b:' % self.name,
                      output)
        self.assertIn('it would restore checkpoint', output)
        self.assertIn('mode unplanned, dry run', overview)
        self.assertIsNone(self.target.identity.find_project(self.name))  # nothing restored

        execution_id = self.execute('draas.drill.drill', {'plan': self.reference},
                                    '5-drill')
        output, overview = self.wait_success(execution_id, '5-drill')
        self.assertRegex(output, r'Drill \S+ of plan %s passed' % self.name)
